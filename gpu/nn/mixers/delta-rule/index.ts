// Registers the delta-rule mixers (each file calls registerMixer on import).
import './deltanet.js';
import './gated-deltanet.js';
import './deltaproduct.js';
import './rwkv7.js';
