// Registers the attention mixers (each file calls registerMixer on import).
import './attention.js';
