// Importing this module registers every mixer family with the registry in ../mixer.ts.
import './linear-diagonal/index.js';
import './linear-matrix/index.js';
import './delta-rule/index.js';
import './attention/index.js';
import './nonlinear-rnn/index.js';
import './shortconv.js';
