// Registers the linear-matrix mixers (each file calls registerMixer on import).
export {};
