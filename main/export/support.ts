// Which layer families each export format can express. One table, read by the exporters (to refuse a
// graph naming the node and the format), by the CLI's help and by docs/export.md.

export type ExportFormat = 'pytorch' | 'onnx' | 'hf';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['pytorch', 'onnx', 'hf'];

/** Mixer kinds with a hand-written PyTorch class (main/export/python/mixers/). */
export const PYTORCH_MIXERS: readonly string[] = [
  'shortconv',
  'attention',
  'mingru',
  'minlstm',
  'hgrn',
  'mamba',
  'deltanet',
  'gated_deltanet',
  'deltaproduct',
  'lstm',
  'gru',
  'elman',
  'slstm',
  'hawk',
  'lru',
  's4d',
];

/** Mixer kinds with an ONNX emitter (main/export/onnx/mixers/). */
export const ONNX_MIXERS: readonly string[] = [
  'shortconv',
  'attention',
  'mingru',
  'minlstm',
  'hgrn',
  'mamba',
  'deltanet',
  'gated_deltanet',
  'deltaproduct',
  'lstm',
  'gru',
  'elman',
  'slstm',
  'hawk',
  'lru',
  's4d',
];

/**
 * The Hugging Face layout is config.json + model.safetensors: it stores any graph StateLab trains (the
 * graph travels inside config.json), so every registered family is accepted.
 */
export function supportedMixers(format: ExportFormat): readonly string[] | 'all' {
  if (format === 'pytorch') return PYTORCH_MIXERS;
  if (format === 'onnx') return ONNX_MIXERS;
  return 'all';
}
