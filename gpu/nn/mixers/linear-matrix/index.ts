// Registers the linear-matrix (class B) mixers: each file calls registerMixer on import.
import './linear-attention.js';
import './retnet.js';
import './gla.js';
import './mamba2.js';
import './hgrn2.js';
import './mlstm.js';
import './rwkv6.js';
import './gsa.js';
