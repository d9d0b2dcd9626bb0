// The ONNX emitter of each mixer kind; support.ts's ONNX list is checked against this table in tests.

import type { OnnxMixerFactory } from '../common.js';
import { attention } from './attention.js';
import { deltanet, deltaproduct, gatedDeltanet } from './delta.js';
import { hawk, hgrn, lru, mamba, mingru, minlstm, s4d } from './diagonal.js';
import { gla, gsa, hgrn2, linearAttention, mamba2, retnet } from './linear-matrix.js';
import { mlstm, rwkv6 } from './linear-matrix-rwkv6-mlstm.js';
import { paragru, paralstm } from './para-rnn.js';
import { elman, gru, lstm, slstm } from './rnn.js';
import { rwkv7 } from './rwkv7.js';
import { shortconv } from './shortconv.js';

export const ONNX_EMITTERS: Record<string, OnnxMixerFactory> = {
  shortconv,
  attention,
  mingru,
  minlstm,
  hgrn,
  mamba,
  deltanet,
  gated_deltanet: gatedDeltanet,
  deltaproduct,
  lstm,
  gru,
  elman,
  slstm,
  hawk,
  lru,
  s4d,
  rwkv7,
  paragru,
  paralstm,
  linear_attn: linearAttention,
  retnet,
  gla,
  mamba2,
  hgrn2,
  gsa,
  mlstm,
  rwkv6,
};
