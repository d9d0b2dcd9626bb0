// Registers the delta-rule mixers (each file calls registerMixer on import).
export {};
