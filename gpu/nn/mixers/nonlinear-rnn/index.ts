// Registers the nonlinear-rnn mixers (each file calls registerMixer on import).
import './fused.js';
import './para.js';
