// Generation with carried state: the public surface for the CLI, the app's Playground and benchmarks.
export { generate, GenerateError, type GenerateRequest, type GenerationEvent, type FinishReason } from './generate.js';
export { DecodeSession } from './session.js';
export { mixerLayers, sequenceMemory, type LayerMemory, type MixerLayer, type SequenceMemory } from './memory.js';
export { DEFAULT_SAMPLING, resolveSampling, sampleToken, type SamplingOptions } from './sampling.js';
export { StopMatcher } from './stop.js';
export { byteTokenizer, TokenizerError, type StreamDecoder, type Tokenizer } from './tokenizer.js';
export { uploadParams, type SavedTensors } from './load-params.js';
