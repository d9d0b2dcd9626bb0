// Registers the linear-diagonal (class A) mixers: each file calls registerMixer on import.
import './min-rnn.js';
import './hgrn.js';
