// Which layer families each export format can express. One table, read by the exporters (to refuse a
// graph naming the node and the format), by the CLI's help and by docs/export.md.

import { ONNX_EMITTERS } from './onnx/mixers/index.js';
import { PYTORCH_CLASSES } from './pytorch-classes.js';

export type ExportFormat = 'pytorch' | 'onnx' | 'hf';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['pytorch', 'onnx', 'hf'];

/** Mixer kinds with a hand-written PyTorch class (main/export/python/mixers/, listed in pytorch-classes.ts). */
export const PYTORCH_MIXERS: readonly string[] = Object.keys(PYTORCH_CLASSES);

/** Mixer kinds with an ONNX emitter (main/export/onnx/mixers/index.ts). */
export const ONNX_MIXERS: readonly string[] = Object.keys(ONNX_EMITTERS);

/**
 * The Hugging Face layout is config.json + model.safetensors: it stores any graph StateLab trains (the
 * graph travels inside config.json), so every registered family is accepted.
 */
export function supportedMixers(format: ExportFormat): readonly string[] | 'all' {
  if (format === 'pytorch') return PYTORCH_MIXERS;
  if (format === 'onnx') return ONNX_MIXERS;
  return 'all';
}
