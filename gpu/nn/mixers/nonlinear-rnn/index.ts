// Registers the nonlinear-rnn mixers (each file calls registerMixer on import).
export {};
