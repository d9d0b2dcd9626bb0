// Registers the linear-diagonal mixers (each file calls registerMixer on import).
export {};
