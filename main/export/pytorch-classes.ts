// The hand-written PyTorch class of each mixer kind (python/mixers/). support.ts lists exactly these kinds
// as the PyTorch export's families; pytorch.ts picks the files a graph needs.

/** Per mixer kind: the template file with its class and the callable that MIXERS maps the kind to. */
export const PYTORCH_CLASSES: Record<string, { file: string; factory: string }> = {
  shortconv: { file: 'shortconv.py', factory: 'ShortConvMixer' },
  attention: { file: 'attention.py', factory: 'Attention' },
  mingru: { file: 'min_rnn.py', factory: 'MinGRU' },
  minlstm: { file: 'min_rnn.py', factory: 'MinLSTM' },
  hgrn: { file: 'hgrn.py', factory: 'HGRN' },
  mamba: { file: 'mamba.py', factory: 'Mamba' },
  deltanet: { file: 'delta_rule.py', factory: 'deltanet' },
  gated_deltanet: { file: 'delta_rule.py', factory: 'gated_deltanet' },
  deltaproduct: { file: 'delta_rule.py', factory: 'deltaproduct' },
  lstm: { file: 'fused_rnn.py', factory: 'lstm' },
  gru: { file: 'fused_rnn.py', factory: 'gru' },
  elman: { file: 'fused_rnn.py', factory: 'elman' },
  slstm: { file: 'fused_rnn.py', factory: 'slstm' },
  hawk: { file: 'hawk.py', factory: 'Hawk' },
  lru: { file: 'lru.py', factory: 'LRU' },
  s4d: { file: 's4d.py', factory: 'S4D' },
  rwkv7: { file: 'rwkv7.py', factory: 'RWKV7' },
  paragru: { file: 'para_rnn.py', factory: 'paragru' },
  paralstm: { file: 'para_rnn.py', factory: 'paralstm' },
  linear_attn: { file: 'linear_matrix.py', factory: 'LinearAttention' },
  retnet: { file: 'linear_matrix.py', factory: 'RetNet' },
  gla: { file: 'linear_matrix.py', factory: 'GLA' },
  mamba2: { file: 'linear_matrix.py', factory: 'Mamba2' },
  hgrn2: { file: 'linear_matrix.py', factory: 'HGRN2' },
  gsa: { file: 'linear_matrix.py', factory: 'GSA' },
  mlstm: { file: 'linear_matrix_rwkv6_mlstm.py', factory: 'MLSTM' },
  rwkv6: { file: 'linear_matrix_rwkv6_mlstm.py', factory: 'RWKV6' },
};
