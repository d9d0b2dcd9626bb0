// Public API of shared/formats: byte-level file formats used by every process.
export {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  type Dtype,
  type SafetensorsEntry,
  type SafetensorsFile,
  type TensorData,
} from './safetensors.js';
export { bf16ToFloat, f16ToFloat, floatToBf16, floatToF16 } from './half.js';
