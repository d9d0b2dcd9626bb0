// Registers the linear-diagonal (class A) mixers: each file calls registerMixer on import.
import './min-rnn.js';
import './hgrn.js';
import './hawk.js';
import './lru.js';
import './s4d.js';
import './mamba.js';
