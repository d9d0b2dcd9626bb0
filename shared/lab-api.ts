// The one contract between the renderer and the host. The renderer only ever sees a `LabApi`, built by
// `createLabClient` over a transport: the Electron preload's bridge (one IPC channel `lab:<method>` per
// method) or the browser-mode HTTP client (`POST /api/<method>` with body `{"args": [...]}`, bytes as
// `{"$bytes": base64}` — see `toWire`). Both answer a `LabReply`, so error codes survive either transport.
// The host validates every call with `LAB_API_ARGUMENTS` before a service method runs: arguments are
// checked in one place for both. File access is by name inside the workspace (never a path from the page).

import {
  expectBytes,
  expectCount,
  expectEnum,
  expectNumber,
  expectObject,
  expectString,
  LabApiError,
  type LabErrorCode,
} from './lab-api-checks.js';

export { LabApiError, toWire, fromWire, type LabErrorCode } from './lab-api-checks.js';

export type LabMode = 'electron' | 'browser';

export interface AppInfo {
  name: string;
  version: string;
  /** How the renderer reaches the host: Electron IPC or the browser-mode HTTP server. */
  mode: LabMode;
  /** `process.platform` of the host (linux, darwin, win32). */
  platform: string;
  /** Runtime versions of the host (node, and electron/chrome in Electron mode). */
  versions: Record<string, string>;
}

export interface BundledText {
  /** Stable identifier: the file name without `.txt` (`lighthouse`). */
  id: string;
  /** A human-readable title (the first line of the text). */
  title: string;
  bytes: number;
}

/** A tokenized text split as the CLI splits it: int32 token ids (little-endian bytes). */
export interface TokenData {
  tokenizer: 'byte' | 'char' | 'bpe';
  vocabSize: number;
  train: Uint8Array;
  validation: Uint8Array;
}

/** What the Data view shows about a text dataset before training. */
export interface DataPreview {
  tokenizer: 'byte' | 'char' | 'bpe';
  vocabSize: number;
  trainTokens: number;
  validationTokens: number;
  truncated: boolean;
  /** The first ~2000 characters of the text (records separated by ␞). */
  sample: string;
  /** Tokens in the first 200 characters of the sample (how finely the tokenizer cuts). */
  sampleTokens: number;
}

/** A dataset file in the workspace's `data/` folder. */
export interface DataFileInfo {
  name: string;
  bytes: number;
  modified: string;
  /** txt, jsonl, csv, tsv or parquet (from the extension); null when unknown. */
  format: string | null;
}

export interface WorkspaceInfo {
  /** Absolute folder holding `graphs/`, `runs/` and `exports/`. */
  path: string;
  /** Recently opened workspaces, most recent first (Electron keeps them; browser mode has one). */
  recent: string[];
  /** Whether the host can show native dialogs (pick a workspace, choose an export folder). */
  dialogs: boolean;
}

export interface TemplateInfo {
  id: string;
  name: string;
  description: string;
}

export interface GraphFileInfo {
  /** File name inside the workspace's `graphs/` folder, without `.json`. */
  name: string;
  bytes: number;
  modified: string;
}

/** Text to train on: a bundled text (byte-level), or a file in the workspace's data/ folder. */
export type TextDataSpec =
  | { kind: 'bundled-text'; id: string; validationFraction: number }
  | {
      kind: 'file';
      name: string;
      /** byte, char (built from the data) or bpe:<vocab size> (trained on the data), as the CLI spells it. */
      tokenizer: string;
      /** JSONL field / CSV or Parquet column with the text (default "text"). */
      field?: string;
      validationFraction: number;
    };

/** What the app trains on; run.json records text by file path, like the CLI. */
export type AppDataSpec = TextDataSpec | { kind: 'task'; task: string; params: Record<string, number> };

/** The `train` section of run.json, as the CLI writes and `statelab resume` reads it. */
export interface RunTrainSettings {
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  evalEvery: number;
  evalBatches: number;
  checkpointEvery: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
}

export interface NewRunRequest {
  name: string;
  /** A graph document (checked and compiled by the host before anything is written). */
  graph: unknown;
  data: AppDataSpec;
  train: RunTrainSettings;
  seed: number;
  /** The WebGPU adapter the Worker trains on. */
  device: Record<string, string | number | boolean>;
}

/** One line of metrics.jsonl (the trainer's MetricsRow). */
export interface RunMetricsRow {
  step: number;
  loss: number;
  val_loss?: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  memory_bytes: number;
  encode_ms: number;
}

export const RUN_STATUSES = ['running', 'completed', 'target-reached', 'stopped', 'non-finite', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export interface RunSummary {
  id: string;
  name: string;
  created: string;
  status: RunStatus;
  message?: string;
  /** A readable description of the data (`bundled text lighthouse`, `task mqar`). */
  data: string;
  steps: number;
  lastStep: number | null;
  lastLoss: number | null;
  bestValLoss: number | null;
  checkpoints: number[];
}

export interface RunDetail extends RunSummary {
  train: Record<string, unknown>;
  seed: number;
  metrics: RunMetricsRow[];
  graph: unknown;
}

/** Everything the Worker needs to continue a run from its latest checkpoint. */
export interface ResumeBundle {
  run: RunSummary;
  graph: unknown;
  train: RunTrainSettings;
  seed: number;
  /** The checkpoint's step: training continues from here. */
  step: number;
  data:
    | { kind: 'tokens'; tokens: TokenData; description: string }
    | { kind: 'task'; task: string; params: Record<string, number>; description: string };
  /** The checkpoint's two safetensors files, as saved. */
  model: Uint8Array;
  optimizer: Uint8Array;
  /** The run's metric rows before the checkpoint step. */
  metrics: RunMetricsRow[];
}

export interface ExportedFile {
  name: string;
  bytes: number;
}

/** Files of an export handed to the page for download (browser mode). */
export interface ExportDownload {
  folderName: string;
  files: { name: string; data: Uint8Array }[];
}

// ---- Export formats (Export view, issue 10)

/** The export formats of `statelab export --format` (main/export/support.ts). */
export const EXPORT_FORMAT_IDS = ['hf', 'pytorch', 'onnx'] as const;
export type ExportFormatId = (typeof EXPORT_FORMAT_IDS)[number];

export interface ExportFormatInfo {
  format: ExportFormatId;
  label: string;
  /** What the format is for. */
  purpose: string;
  /** The files it writes (tokenizer.json only when the run has a tokenizer; model.onnx.data for larger weights). */
  files: string[];
  /** Layer families the format can express ('all' for the HF layout). */
  families: string[] | 'all';
  /** Whether this run's graph can be exported in this format. */
  supported: boolean;
  /** Why not: the exporter's message, naming each node the format cannot express. */
  reason?: string;
}

export interface ExportFormats {
  /** The run's graph name and the layer families it uses. */
  graph: string;
  families: string[];
  formats: ExportFormatInfo[];
}

// ---- Sweep view (issue 14)

/** A sweep file the page can name: `bundled:<file>.json` (assets/sweeps) or `workspace:<file>.json` (sweeps/). */
export type SweepRef = string;
export type SweepAxisValue = number | string | boolean;

export interface SweepFileInfo {
  ref: SweepRef;
  /** The sweep's own name (state file, run names) — the file name when the file cannot be read. */
  name: string;
  description?: string;
  bundled: boolean;
}

/** A sweep file checked and expanded: every grid point with its parameters, state size and memory. */
export interface SweepPlan {
  ref: SweepRef;
  name: string;
  description?: string;
  metric: 'val_loss' | 'mqar_accuracy';
  axes: Record<string, SweepAxisValue[]>;
  bestOf?: string;
  families: string[];
  seeds: number[];
  memoryBudgetBytes: number;
  points: {
    index: number;
    id: string;
    family: string;
    axes: Record<string, SweepAxisValue>;
    seed: number;
    params: number;
    stateBytes: number;
    memoryBytes: number;
  }[];
}

/** The sweep the host is running (or ran last): where it is across runs and inside the current run. */
export interface SweepProgress {
  ref: SweepRef;
  name: string;
  state: 'running' | 'stopping' | 'finished' | 'stopped' | 'failed';
  /** Points this call visits, and the one it is on (0-based). */
  count: number;
  position: number;
  ran: number;
  skipped: number;
  failed: number;
  current?: { id: string; step: number; steps: number; loss?: number };
  /** The last lines the runner logged (newest last). */
  log: string[];
  message?: string;
}

export interface SweepResultRow {
  index: number;
  id: string;
  family: string;
  axes: Record<string, SweepAxisValue>;
  seed: number;
  status: 'done' | 'skipped' | 'failed' | 'pending' | 'partial';
  run?: string;
  outcome?: string;
  params: number;
  stateBytes: number;
  steps?: number;
  trainLoss?: number;
  valLoss?: number;
  accuracy?: number;
  metric?: number;
  best: boolean;
  seconds?: number;
  message?: string;
}

export interface SweepResultsView {
  sweep: string;
  metric: SweepPlan['metric'];
  axes: string[];
  bestOf?: string;
  rows: SweepResultRow[];
  configs: {
    family: string;
    axes: Record<string, SweepAxisValue>;
    params: number;
    stateBytes: number;
    n: number;
    mean: number;
    std: number;
    min: number;
    max: number;
    chosen: SweepAxisValue[];
  }[];
}

/** The metric against one axis (or params / stateBytes): one series per family and other-axes values. */
export interface SweepChartSeries {
  label: string;
  family: string;
  points: { x: SweepAxisValue; mean: number; std: number; min: number; max: number; n: number }[];
}

// ---- Playground view (issue 13)

/** A run's checkpoint as the Playground's generation Worker needs it (the page decodes and uploads it). */
export interface PlaygroundModel {
  run: string;
  name: string;
  step: number;
  graph: unknown;
  /** How prompts become tokens, as `statelab generate` reads them: byte-level UTF-8, or an imported teacher's tokenizer.json. */
  tokenizer: PlaygroundTokenizer;
  /** Tokens per training sequence (run.json's train.seqLen). */
  trainLength: number | null;
  /** The checkpoint's model safetensors, as saved. */
  model: Uint8Array;
}

export type PlaygroundTokenizer = { kind: 'byte' } | { kind: 'tokenizer.json'; json: string };

/** A named list of prompts, kept in the workspace's prompt-sets.json. */
export interface PromptSet {
  name: string;
  prompts: string[];
}

// ---- Inspect view (issue 8)

/** The analyses of `statelab inspect` that run on one run's checkpoint. */
export const ANALYSIS_NAMES = [
  'extrapolation',
  'states',
  'implicit-attention',
  'passkey',
  'mqar',
  'state-tracking',
] as const;
export type AnalysisName = (typeof ANALYSIS_NAMES)[number];

/** An analysis's options as `statelab inspect` takes them (camel-cased): numbers, text, lists. */
export type AnalysisOptions = Record<string, number | string | number[] | string[]>;

/** One option field: what it is, its range, and its default in words (the CLI's help). */
export interface AnalysisOptionSpec {
  name: string;
  label: string;
  kind: 'number' | 'integer' | 'integers' | 'text' | 'choice' | 'choices';
  min?: number;
  choices?: string[];
  /** The default, as the CLI's help says it ("16", "T/8", "all layers"). */
  default: string;
}

export interface AnalysisChoice {
  name: AnalysisName;
  label: string;
  description: string;
  /** False when the run cannot have it (no checkpoint, not a run of the task it needs); `reason` says why. */
  available: boolean;
  reason?: string;
  options: AnalysisOptionSpec[];
}

export interface SavedAnalysisInfo {
  /** File stem in runs/<id>/analyses/ (the analysis name). */
  name: string;
  step: number | null;
  created: string | null;
  bytes: number;
}

export interface InspectRunInfo {
  run: string;
  name: string;
  /** Tokens per training sequence: what extrapolation is measured against. */
  trainLength: number | null;
  /** The synthetic task of a task run (null: text). */
  task: string | null;
  checkpoints: number[];
  /** Mixer layer instances in execution order (implicit attention can be limited to some). */
  layers: string[];
  analyses: AnalysisChoice[];
  saved: SavedAnalysisInfo[];
  /** Whether this host can run analyses on its GPU (not from the desktop app's main process yet). */
  canRun: boolean;
}

/** The analysis the host runs (or ran last). Analyses report no progress inside a run: elapsed time only. */
export interface AnalysisProgress {
  run: string;
  analysis: AnalysisName;
  options: AnalysisOptions;
  state: 'running' | 'finished' | 'failed';
  started: string;
  seconds: number;
  message?: string;
}

/** What the charts read of each analysis's results (the host's result types satisfy these; JSON has null for NaN). */
export interface ExtrapolationProbeView {
  probe: string;
  description: string;
  notes: string[];
  length: number;
  positionLoss: (number | null)[];
  buckets: { start: number; end: number; loss: number | null; perplexity: number | null; tokens: number }[];
  multiples: { multiple: number; start: number; end: number; loss: number | null; perplexity: number | null }[];
  extrapolation: {
    factor: number | null;
    lowerBound: boolean;
    breaksAt: number | null;
    referencePerplexity: number | null;
    tolerance: number;
  } | null;
}

export interface StatesView {
  probe: string;
  positions: number[];
  layers: {
    name: string;
    kind: string;
    family: string;
    entries: {
      entry: string;
      shape: number[];
      heads: number;
      groupSize: number;
      series: Record<'rms' | 'mean' | 'variance' | 'maxAbs', (number | null)[][]>;
      collapse: { head: number; statistic: string; status: string; flaggedAt: number | null; onset: number | null }[];
    }[];
    decay: { unit: string; units: number; groupSize: number; meanLogDecay: (number | null)[][] } | null;
  }[];
  flagged: {
    layer: string;
    entry: string;
    head: number;
    statistic: string;
    status: string;
    flaggedAt: number;
    onset: number;
  }[];
}

export interface ImplicitAttentionView {
  tokens: number[];
  labels: string[] | null;
  layers: {
    name: string;
    kind: string;
    supported: boolean;
    reason?: string;
    method?: string;
    unit?: string;
    units?: number;
    description?: string;
    matrices?: Record<string, (number | null)[][]>;
    meanAbs?: (number | null)[][];
    reconstructionError?: number | null;
  }[];
  rollout: (number | null)[][] | null;
}

export interface PasskeyView {
  lengths: number[];
  depths: number[];
  accuracy: (number | null)[][];
  meanAccuracy: (number | null)[];
  samples: number;
  threshold: number;
  capacity: number;
}

export interface MqarView {
  length: number;
  trainedKv: number | null;
  points: { kv: number; accuracy: number | null; exampleAccuracy: number | null }[];
  skipped: { kv: number; reason: string }[];
  samples: number;
}

export interface StateTrackingView {
  task: string;
  points: {
    length: number;
    seqLen: number;
    tokenAccuracy: number | null;
    sequenceAccuracy: number | null;
    lastAccuracy: number | null;
  }[];
}

/** runs/<id>/analyses/<name>.json as written, typed by its analysis. */
export type SavedAnalysis = {
  run: string;
  step: number;
  created: string;
  trainLength: number;
  config: Record<string, unknown>;
} & (
  | { analysis: 'extrapolation'; results: ExtrapolationProbeView[] }
  | { analysis: 'states'; results: StatesView }
  | { analysis: 'implicit-attention'; results: ImplicitAttentionView }
  | { analysis: 'passkey'; results: PasskeyView }
  | { analysis: 'mqar'; results: MqarView }
  | { analysis: 'state-tracking'; results: StateTrackingView }
);

// ---- Distill view (issue 9)

/** The recurrent families a teacher's attention can become (gpu/distill/student.ts's STUDENT_FAMILIES). */
export const DISTILL_FAMILIES = ['gla', 'mamba2', 'linear_attn', 'deltanet', 'gated_deltanet'] as const;
export type DistillFamily = (typeof DISTILL_FAMILIES)[number];
export const DISTILL_LOSS_TERMS = ['kl', 'ce', 'attention', 'hidden'] as const;
export type DistillLossTerm = (typeof DISTILL_LOSS_TERMS)[number];

/** A stage's edits: its loss weights (0 turns a term off; KL's temperature), freeze patterns, steps and lr. */
export interface DistillStageEdit {
  steps?: number;
  lr?: number;
  /** Per term, the weight (and KL's temperature) that replace the recipe's; terms not named keep theirs. */
  losses?: Partial<Record<DistillLossTerm, { weight?: number; temperature?: number }>>;
  /** Name patterns of the parameters that train (`*` within a dotted segment, `**` across), replacing the recipe's. */
  train?: string[];
}

/** One row of the weight-transfer table (gpu/distill/transfer.ts's TransferRow), as the view sends it back. */
export interface DistillTransferRow {
  /** Teacher parameter (null for 'init': the student tensor keeps its family's initialization). */
  teacher: string | null;
  /** Student parameter (null for 'drop': the teacher tensor is not used). */
  student: string | null;
  transform: 'copy' | 'repeat_kv' | 'init' | 'drop';
  /** Only rows [start, end) of the student tensor's first axis. */
  rows?: [number, number];
  /** repeat_kv: each head of `headDim` rows repeated `repeat` times. */
  repeat?: number;
  headDim?: number;
  note: string;
}

/** Data to distill on other than the teacher's own: a bundled text or a file of the workspace's data/ folder. */
export type DistillDataChoice = { kind: 'bundled-text'; id: string } | { kind: 'file'; name: string; field?: string };

/** What the Distill view asks for: `statelab distill <teacher> --student <family> --hybrid <spec>`, in the workspace. */
export interface DistillViewRequest {
  /** The teacher's run id in the workspace (its latest checkpoint is distilled). */
  teacher: string;
  family: DistillFamily;
  /** `none`, `every:K` (every K-th layer keeps attention) or `layers:i,j` (those layers keep attention). */
  hybrid: string;
  /** Total steps and peak learning rate of the default two-stage recipe. */
  steps?: number;
  lr?: number;
  /** Per default stage (index-aligned), what replaces the recipe's values there (absent: the recipe's). */
  stages?: DistillStageEdit[];
  /**
   * The weight-transfer table as the user edited it (rows skipped or given another teacher tensor); absent:
   * the automatic table. The host checks it with the table's validator, which names the row that is wrong.
   */
  transfer?: DistillTransferRow[];
  /** What to distill on; absent: the teacher's own data. Tokenized the teacher's way (its tokenizer). */
  data?: DistillDataChoice;
  batch?: number;
  seqLen?: number;
  evalEvery?: number;
  evalBatches?: number;
  seed?: number;
  /** The student run's name (default "<teacher> → <student>"). */
  name?: string;
}

export interface DistillTeacherInfo {
  run: string;
  name: string;
  /** Attention mixer instances of its graph: the layers a student replaces. */
  attentionLayers: number;
  checkpoints: number[];
}

/** What the Distill view can pick from: attention teachers, student families, earlier distill runs. */
export interface DistillChoices {
  teachers: DistillTeacherInfo[];
  families: DistillFamily[];
  runs: { run: string; name: string; status: string; teacher: string; student: string }[];
  /** Whether this host can distill on its GPU (not from the desktop app's main process yet). */
  canRun: boolean;
}

export interface DistillStageView {
  name: string;
  losses: Partial<Record<DistillLossTerm, { weight: number; temperature?: number }>>;
  train: string[];
  lr: number;
  steps: number;
  schedule?: 'cosine' | 'constant';
  warmupSteps?: number;
}

/** One row of the weight-transfer table with both models' shapes (null: no tensor on that side). */
export interface DistillTransferRowView extends DistillTransferRow {
  teacherShape: number[] | null;
  studentShape: number[] | null;
  /**
   * Teacher tensors that fit this row's student region under its transform ('init' rows: as a copy) — the
   * sources the view offers; empty for 'drop' rows.
   */
  sources: string[];
  /** Whether the row differs from the automatic table's. */
  edited: boolean;
}

export interface DistillLayerView {
  index: number;
  teacher: string;
  student: string;
  /** The student's mixer kind there (`gla`, …, or `attention` where it stays). */
  kind: string;
  converted: boolean;
}

/** A checked distillation plan (nothing ran): what the student is, how the weights carry over, the stages. */
export interface DistillPreview {
  teacher: { run: string; name: string; step: number; params: number };
  student: { label: string; params: number; stateBytes: number };
  layers: DistillLayerView[];
  transfer: DistillTransferRowView[];
  stages: DistillStageView[];
  /** The data it distills on, in words (default: the teacher's own). */
  data: string;
  settings: { batch: number; seqLen: number; seed: number; evalEvery: number; evalBatches: number };
}

/** A metric row of a distill run as the charts read it (unweighted terms; per-layer MSE by student module). */
export interface DistillMetricRow {
  step: number;
  stage: string;
  stage_index: number;
  /** The weighted total. */
  loss: number;
  lr: number;
  kl?: number;
  ce?: number;
  attention?: number;
  hidden?: number;
  attention_layers?: Record<string, number>;
  hidden_layers?: Record<string, number>;
  val_loss?: number;
  val_ppl?: number;
  teacher_val_loss?: number;
  teacher_val_ppl?: number;
}

export interface DistillStageRange {
  name: string;
  index: number;
  /** Global steps [start, end). */
  start: number;
  end: number;
}

/** The distillation the host runs (or ran last). */
export interface DistillProgress {
  teacher: string;
  student: string;
  /** The student run's id once its folder exists. */
  run: string | null;
  state: 'starting' | 'running' | 'stopping' | 'completed' | 'target-reached' | 'stopped' | 'non-finite' | 'failed';
  stages: DistillStageRange[];
  /** Index of the stage running (or last run); null before the first. */
  stage: number | null;
  totalSteps: number;
  /** Metric rows written so far. */
  rowCount: number;
  /** The rows from the index the caller asked for (`distillProgress(since)`) on. */
  rows: DistillMetricRow[];
  log: string[];
  started: string;
  seconds: number;
  message?: string;
}

/** A distill run folder read back. */
export interface DistillRunView {
  run: string;
  name: string;
  status: string;
  message?: string;
  teacher: { run: string; step: number };
  student: string;
  stages: DistillStageRange[];
  layers: DistillLayerView[];
  teacherValLoss: number | null;
  checkpoints: number[];
  rows: DistillMetricRow[];
}

export interface LabApi {
  appInfo(): Promise<AppInfo>;
  /** The plain-text corpora shipped in `assets/text/`. */
  listTexts(): Promise<BundledText[]>;
  /** The full contents of one bundled text. */
  readText(id: string): Promise<string>;
  /** Text data tokenized and split with the CLI's own data code (what the Worker trains on). */
  readTokens(spec: TextDataSpec): Promise<TokenData>;
  /** Token counts, split and a sample of text data, for the Data view. */
  previewData(spec: TextDataSpec): Promise<DataPreview>;
  /** Dataset files in the workspace's data/ folder. */
  listDataFiles(): Promise<DataFileInfo[]>;
  /** Copies a file the user picked or dropped into data/ (temp-then-rename). */
  importDataFile(name: string, data: Uint8Array): Promise<DataFileInfo>;

  workspace(): Promise<WorkspaceInfo>;
  /** Electron: asks for a folder with the system dialog (null when cancelled). */
  chooseWorkspace(): Promise<WorkspaceInfo | null>;
  /** Reopens one of `workspace().recent` (no other path is accepted). */
  openRecentWorkspace(path: string): Promise<WorkspaceInfo>;

  listTemplates(): Promise<TemplateInfo[]>;
  /** A bundled architecture template's JSON text. */
  readTemplate(id: string): Promise<string>;

  listGraphs(): Promise<GraphFileInfo[]>;
  readGraph(name: string): Promise<string>;
  /** Writes `graphs/<name>.json` in the workspace, temp-then-rename. */
  saveGraph(name: string, text: string): Promise<GraphFileInfo>;

  /** Creates a run folder (run.json, graph.json, config.json) exactly as the CLI does. */
  createRun(request: NewRunRequest): Promise<RunSummary>;
  appendMetrics(runId: string, rows: RunMetricsRow[]): Promise<void>;
  /** Model and optimizer safetensors (the latter with `trainer_state` metadata), as the Worker encoded them. */
  saveCheckpoint(runId: string, model: Uint8Array, optimizer: Uint8Array): Promise<{ step: number }>;
  finishRun(runId: string, status: RunStatus, message: string): Promise<RunSummary>;
  listRuns(): Promise<RunSummary[]>;
  readRun(runId: string): Promise<RunDetail>;
  /** Reopens a run (app or CLI) to continue it from its latest checkpoint up to `steps` total steps. */
  resumeRun(runId: string, steps: number): Promise<ResumeBundle>;

  /** Which export formats can express a run's graph, and why not. */
  exportFormats(runId: string): Promise<ExportFormats>;
  /** Electron: writes an export (HF layout, PyTorch package or ONNX) into a folder the user picks (null: cancelled). */
  exportCheckpoint(
    runId: string,
    step: number,
    format: ExportFormatId,
  ): Promise<{ folder: string; files: ExportedFile[] } | null>;
  /** The same files as bytes, for a browser download. */
  exportDownload(runId: string, step: number, format: ExportFormatId): Promise<ExportDownload>;

  // ---- Sweep view (issue 14)
  /** Bundled sweep files (assets/sweeps) and the workspace's sweeps/ folder. */
  listSweeps(): Promise<SweepFileInfo[]>;
  /** The checked, expanded grid (refused with the file, field, graph or node named when wrong). */
  readSweep(ref: SweepRef): Promise<SweepPlan>;
  /** Starts (or resumes: finished points are not repeated) a sweep on the host's GPU; one at a time. */
  startSweep(ref: SweepRef): Promise<SweepProgress>;
  /** Stops the running sweep at its current run's next step (resumable); null when none runs. */
  stopSweep(): Promise<SweepProgress | null>;
  /** The running sweep's progress, or the last one's; null when none ran since the host started. */
  sweepProgress(): Promise<SweepProgress | null>;
  /** Every grid point's run and metric, read back from the run folders, with best-of and per-config mean/spread. */
  sweepResults(ref: SweepRef): Promise<SweepResultsView>;
  /** The sweep's metric against `xAxis` (an axis, `params` or `stateBytes`), by family. */
  sweepChart(ref: SweepRef, xAxis: string): Promise<SweepChartSeries[]>;
  /** The results table as CSV (the same as `statelab sweep --csv`). */
  sweepCsv(ref: SweepRef): Promise<string>;
  /** Adds a sweep file the user picked to the workspace's sweeps/ (checked first; an existing file is kept). */
  importSweepFile(name: string, text: string): Promise<SweepFileInfo>;

  // ---- Playground view (issue 13)
  /** A checkpoint's weights and graph for the page's generation Worker; refused like `statelab generate` (task runs, other tokenizers). */
  playgroundModel(runId: string, step: number): Promise<PlaygroundModel>;
  /** The workspace's prompt sets (prompt-sets.json; none yet: an empty list). */
  listPromptSets(): Promise<PromptSet[]>;
  /** Adds a prompt set or replaces the one of the same name (temp-then-rename); returns every set. */
  savePromptSet(set: PromptSet): Promise<PromptSet[]>;
  /** Removes a prompt set by name; returns the remaining sets. */
  deletePromptSet(name: string): Promise<PromptSet[]>;

  // ---- Inspect view (issue 8)
  /** A run's training length, task, layers, which analyses it can have (with their options) and those saved. */
  inspectRun(runId: string): Promise<InspectRunInfo>;
  /** Starts an analysis on the host's GPU (one at a time); it writes runs/<id>/analyses/<analysis>.json. */
  startAnalysis(runId: string, analysis: AnalysisName, options: AnalysisOptions): Promise<AnalysisProgress>;
  /** The running analysis, or the last one; null when none ran since the host started. */
  analysisProgress(): Promise<AnalysisProgress | null>;
  /** A saved analysis of a run, as written. */
  readAnalysis(runId: string, name: string): Promise<SavedAnalysis>;

  // ---- Distill view (issue 9)
  /** Attention teachers in the workspace, the student families, and distill runs to reopen. */
  distillChoices(): Promise<DistillChoices>;
  /** The checked plan of a request (student, layers, transfer table with shapes, stages), or why it is refused. */
  previewDistill(request: DistillViewRequest): Promise<DistillPreview>;
  /** Starts distilling on the host's GPU (one at a time) into a new run folder of the workspace. */
  startDistill(request: DistillViewRequest): Promise<DistillProgress>;
  /** The running distillation (or the last one) with its metric rows from index `since`; null when none ran. */
  distillProgress(since: number): Promise<DistillProgress | null>;
  /** Stops the running distillation after its current step (resumable with `statelab distill --resume`). */
  stopDistill(): Promise<DistillProgress | null>;
  /** A distill run's stages, layers, checkpoints and metric rows. */
  readDistill(runId: string): Promise<DistillRunView>;
}

export type LabMethod = keyof LabApi;

// ---------------------------------------------------------------- menu commands (Electron → page)

/** What the desktop app's menu (and files opened from the system) ask the page to do. */
export type MenuCommand =
  | {
      command:
        | 'new-graph'
        | 'templates'
        | 'open-graph'
        | 'save'
        | 'save-as'
        | 'choose-workspace'
        | 'undo'
        | 'redo'
        | 'duplicate'
        | 'delete'
        | 'select-all'
        | 'fit-view'
        | 'toggle-theme'
        | 'shortcuts';
    }
  | { command: 'view'; view: string }
  /** A graph file the user opened with the app (file association, command line, dock). */
  | { command: 'open-file'; name: string; text: string };

/** The one main → page channel; the preload exposes it as `window.labMenu.on(listener)`. */
export const MENU_CHANNEL = 'lab:menu';

export interface LabMenuBridge {
  on(listener: (command: MenuCommand) => void): void;
}

/** The prefix of every IPC channel: `lab:<method>`. */
export const IPC_PREFIX = 'lab:';

// ---------------------------------------------------------------- argument validation

const TEXT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Graph file names: readable, no folders, no leading dot (autosaves and temporaries are hidden). */
export const GRAPH_NAME = /^[A-Za-z0-9][A-Za-z0-9 _().-]{0,79}$/;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Dataset file names in data/: plain names with an extension, no folders. */
export const DATA_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _().-]{0,119}\.[A-Za-z0-9]{1,10}$/;
const TOKENIZER = /^(byte|char|bpe:\d{3,6})$/;
/** Sweep files by where they live and their plain file name (Sweep view, issue 14). */
const SWEEP_REF = /^(bundled|workspace):[A-Za-z0-9][A-Za-z0-9 _().-]{0,119}\.json$/;
const SWEEP_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _().-]{0,119}\.json$/;

function pattern(method: string, name: string, value: unknown, re: RegExp, what: string): string {
  const text = expectString(method, name, value, 200);
  if (!re.test(text) || text.includes('..')) {
    throw new LabApiError('bad-arguments', `${method}: ${name} must be ${what}, got ${JSON.stringify(value)}`);
  }
  return text;
}

const textId = (m: string, v: unknown) =>
  pattern(m, 'id', v, TEXT_ID, 'an id (lower-case letters, digits, "-" or "_", at most 64 characters)');
const graphName = (m: string, v: unknown) =>
  pattern(m, 'name', v, GRAPH_NAME, 'a file name (letters, digits, space, _ . - ( ), at most 80 characters)');
const runId = (m: string, v: unknown) => pattern(m, 'runId', v, RUN_ID, 'a run id');
const step = (m: string, v: unknown) => expectNumber(m, 'step', v, { integer: true, min: 0 });
const sweepRef = (m: string, v: unknown) =>
  pattern(m, 'ref', v, SWEEP_REF, 'a sweep file ("bundled:<name>.json" or "workspace:<name>.json")');

function metricsRows(method: string, value: unknown): RunMetricsRow[] {
  if (!Array.isArray(value) || value.length > 100_000) {
    throw new LabApiError('bad-arguments', `${method}: rows must be an array of at most 100000 metric rows`);
  }
  return value.map((row, i) => {
    const r = expectObject(method, `rows[${i}]`, row);
    const num = (key: string, integer = false) => expectNumber(method, `rows[${i}].${key}`, r[key], { integer });
    return {
      step: num('step', true),
      loss: num('loss'),
      ...(r.val_loss !== undefined ? { val_loss: num('val_loss') } : {}),
      lr: num('lr'),
      grad_norm: num('grad_norm'),
      tokens_per_s: num('tokens_per_s'),
      memory_bytes: num('memory_bytes'),
      encode_ms: num('encode_ms'),
    };
  });
}

function textDataSpec(method: string, d: Record<string, unknown>, kind: 'bundled-text' | 'file'): TextDataSpec {
  const validationFraction = expectNumber(method, 'data.validationFraction', d.validationFraction, {
    min: 0,
    max: 0.5,
  });
  if (kind === 'bundled-text') return { kind, id: textId(method, d.id), validationFraction };
  return {
    kind,
    name: pattern(method, 'data.name', d.name, DATA_FILE_NAME, 'a data file name (name.ext, no folders)'),
    tokenizer: pattern(method, 'data.tokenizer', d.tokenizer, TOKENIZER, 'byte, char or bpe:<vocab size>'),
    ...(d.field !== undefined ? { field: expectString(method, 'data.field', d.field, 200) } : {}),
    validationFraction,
  };
}

function textSpec(method: string, value: unknown): TextDataSpec {
  const d = expectObject(method, 'data', value);
  return textDataSpec(method, d, expectEnum(method, 'data.kind', d.kind, ['bundled-text', 'file'] as const));
}

function dataSpec(method: string, value: unknown): AppDataSpec {
  const d = expectObject(method, 'data', value);
  const kind = expectEnum(method, 'data.kind', d.kind, ['bundled-text', 'file', 'task'] as const);
  if (kind !== 'task') return textDataSpec(method, d, kind);
  const params = expectObject(method, 'data.params', d.params);
  const checked: Record<string, number> = {};
  for (const [key, v] of Object.entries(params)) checked[key] = expectNumber(method, `data.params.${key}`, v);
  return { kind, task: pattern(method, 'data.task', d.task, TEXT_ID, 'a task name'), params: checked };
}

function trainSettings(method: string, value: unknown): RunTrainSettings {
  const t = expectObject(method, 'train', value);
  const int = (key: string, min: number, max: number) =>
    expectNumber(method, `train.${key}`, t[key], { integer: true, min, max });
  const num = (key: string, min: number, max: number) => expectNumber(method, `train.${key}`, t[key], { min, max });
  return {
    steps: int('steps', 1, 10_000_000),
    batch: int('batch', 1, 65_536),
    seqLen: int('seqLen', 1, 1 << 20),
    lr: num('lr', 0, 10),
    evalEvery: int('evalEvery', 0, 10_000_000),
    evalBatches: int('evalBatches', 0, 10_000),
    checkpointEvery: int('checkpointEvery', 0, 10_000_000),
    warmupSteps: int('warmupSteps', 0, 10_000_000),
    weightDecay: num('weightDecay', 0, 10),
    clipNorm: num('clipNorm', 0, 1e6),
  };
}

function newRun(method: string, value: unknown): NewRunRequest {
  const r = expectObject(method, 'request', value);
  const device = expectObject(method, 'request.device', r.device);
  const flatDevice: Record<string, string | number | boolean> = {};
  for (const [key, v] of Object.entries(device)) {
    if (['string', 'number', 'boolean'].includes(typeof v)) flatDevice[key] = v as string | number | boolean;
  }
  return {
    name: expectString(method, 'request.name', r.name, 200),
    graph: expectObject(method, 'request.graph', r.graph),
    data: dataSpec(method, r.data),
    train: trainSettings(method, r.train),
    seed: expectNumber(method, 'request.seed', r.seed, { integer: true, min: 0, max: 2 ** 32 - 1 }),
    device: flatDevice,
  };
}

/** Prompt sets (Playground, issue 13): a non-blank name and 1–1000 non-empty prompts. */
function promptSetName(method: string, name: string, value: unknown): string {
  const text = expectString(method, name, value, 100);
  if (!text.trim()) throw new LabApiError('bad-arguments', `${method}: ${name} must not be blank`);
  return text;
}

function promptSet(method: string, value: unknown): PromptSet {
  const s = expectObject(method, 'set', value);
  if (!Array.isArray(s.prompts) || s.prompts.length === 0 || s.prompts.length > 1000) {
    throw new LabApiError('bad-arguments', `${method}: set.prompts must be an array of 1 to 1000 prompts`);
  }
  const prompts = s.prompts.map((p, i) => {
    const text = expectString(method, `set.prompts[${i}]`, p, 100_000);
    if (!text) throw new LabApiError('bad-arguments', `${method}: set.prompts[${i}] is empty`);
    return text;
  });
  return { name: promptSetName(method, 'set.name', s.name), prompts };
}

/** Analysis options (Inspect, issue 8): plain values only; the host checks names and ranges per analysis. */
const ANALYSIS_FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

function analysisOptions(method: string, value: unknown): AnalysisOptions {
  const o = expectObject(method, 'options', value);
  const out: AnalysisOptions = {};
  for (const [key, v] of Object.entries(o)) {
    const name = `options.${key}`;
    if (!/^[a-zA-Z]{1,40}$/.test(key))
      throw new LabApiError('bad-arguments', `${method}: ${name} is not an option name`);
    if (typeof v === 'string') out[key] = expectString(method, name, v, 10_000);
    else if (!Array.isArray(v)) out[key] = expectNumber(method, name, v);
    else if (v.length > 1000) throw new LabApiError('bad-arguments', `${method}: ${name} has more than 1000 values`);
    else if (v.every((x) => typeof x === 'string'))
      out[key] = v.map((x, i) => expectString(method, `${name}[${i}]`, x, 200));
    else out[key] = v.map((x, i) => expectNumber(method, `${name}[${i}]`, x));
  }
  return out;
}

/** Distill requests (issue 9): names and ranges here; the host checks the plan against the teacher. */
const HYBRID = /^(none|every:\d{1,4}|layers:\d{1,4}(,\d{1,4}){0,255})$/;
const DISTILL_REQUEST_FIELDS = [
  'teacher',
  'family',
  'hybrid',
  'steps',
  'lr',
  'stages',
  'batch',
  'seqLen',
  'evalEvery',
  'evalBatches',
  'seed',
  'name',
  'transfer',
  'data',
];
const TRANSFER_ROW_FIELDS = ['teacher', 'student', 'transform', 'rows', 'repeat', 'headDim', 'note'];

function distillStageEdit(method: string, at: string, raw: unknown): DistillStageEdit {
  const s = expectObject(method, at, raw);
  const stage: DistillStageEdit = {};
  for (const key of Object.keys(s))
    if (!['steps', 'lr', 'losses', 'train'].includes(key))
      throw new LabApiError('bad-arguments', `${method}: ${at}.${key} is not steps, lr, losses or train`);
  if (s.steps !== undefined)
    stage.steps = expectNumber(method, `${at}.steps`, s.steps, { integer: true, min: 1, max: 10_000_000 });
  if (s.lr !== undefined) {
    stage.lr = expectNumber(method, `${at}.lr`, s.lr, { min: 0, max: 10 });
    if (stage.lr === 0) throw new LabApiError('bad-arguments', `${method}: ${at}.lr must be greater than 0`);
  }
  if (s.losses !== undefined) {
    // Types here; ranges (weight ≥ 0, temperature > 0) are the stage checker's, which names the stage.
    const losses = expectObject(method, `${at}.losses`, s.losses);
    stage.losses = {};
    for (const [term, value] of Object.entries(losses)) {
      const name = `${at}.losses.${term}`;
      if (!(DISTILL_LOSS_TERMS as readonly string[]).includes(term))
        throw new LabApiError(
          'bad-arguments',
          `${method}: ${at}.losses.${term.slice(0, 40)} is not a loss term (use ${DISTILL_LOSS_TERMS.join(', ')})`,
        );
      const l = expectObject(method, name, value);
      for (const key of Object.keys(l))
        if (key !== 'weight' && (key !== 'temperature' || term !== 'kl'))
          throw new LabApiError(
            'bad-arguments',
            `${method}: ${name}.${key} is not ${term === 'kl' ? 'weight or temperature' : 'weight'}`,
          );
      stage.losses[term as DistillLossTerm] = {
        ...(l.weight !== undefined ? { weight: expectNumber(method, `${name}.weight`, l.weight) } : {}),
        ...(l.temperature !== undefined
          ? { temperature: expectNumber(method, `${name}.temperature`, l.temperature) }
          : {}),
      };
    }
  }
  if (s.train !== undefined) {
    if (!Array.isArray(s.train) || s.train.length > 256)
      throw new LabApiError('bad-arguments', `${method}: ${at}.train must be a list of at most 256 name patterns`);
    stage.train = s.train.map((p, j) => expectString(method, `${at}.train[${j}]`, p, 300));
  }
  return stage;
}

function distillTransferRow(method: string, at: string, raw: unknown): DistillTransferRow {
  const r = expectObject(method, at, raw);
  for (const key of Object.keys(r))
    if (!TRANSFER_ROW_FIELDS.includes(key))
      throw new LabApiError('bad-arguments', `${method}: ${at}.${key} is not a transfer row field`);
  const tensor = (key: 'teacher' | 'student') =>
    r[key] === null ? null : expectString(method, `${at}.${key}`, r[key], 300);
  const row: DistillTransferRow = {
    teacher: tensor('teacher'),
    student: tensor('student'),
    transform: expectEnum(method, `${at}.transform`, r.transform, ['copy', 'repeat_kv', 'init', 'drop'] as const),
    note: r.note === undefined ? '' : expectString(method, `${at}.note`, r.note, 500),
  };
  const int = (key: string, v: unknown, min: number) =>
    expectNumber(method, `${at}.${key}`, v, { integer: true, min, max: 1 << 30 });
  if (r.rows !== undefined) {
    if (!Array.isArray(r.rows) || r.rows.length !== 2)
      throw new LabApiError('bad-arguments', `${method}: ${at}.rows must be [start, end]`);
    row.rows = [int('rows[0]', r.rows[0], 0), int('rows[1]', r.rows[1], 0)];
  }
  if (r.repeat !== undefined) row.repeat = int('repeat', r.repeat, 1);
  if (r.headDim !== undefined) row.headDim = int('headDim', r.headDim, 1);
  return row;
}

function distillData(method: string, value: unknown): DistillDataChoice {
  const d = expectObject(method, 'request.data', value);
  const kind = expectEnum(method, 'request.data.kind', d.kind, ['bundled-text', 'file'] as const);
  for (const key of Object.keys(d))
    if (!['kind', kind === 'file' ? 'name' : 'id', ...(kind === 'file' ? ['field'] : [])].includes(key))
      throw new LabApiError('bad-arguments', `${method}: request.data.${key} is not a field of ${kind} data`);
  if (kind === 'bundled-text')
    return { kind, id: pattern(method, 'request.data.id', d.id, TEXT_ID, 'a bundled text id') };
  return {
    kind,
    name: pattern(method, 'request.data.name', d.name, DATA_FILE_NAME, 'a data file name (name.ext, no folders)'),
    ...(d.field !== undefined ? { field: expectString(method, 'request.data.field', d.field, 200) } : {}),
  };
}

function distillRequest(method: string, value: unknown): DistillViewRequest {
  const r = expectObject(method, 'request', value);
  for (const key of Object.keys(r))
    if (!DISTILL_REQUEST_FIELDS.includes(key))
      throw new LabApiError('bad-arguments', `${method}: request.${key} is not a distill request field`);
  const int = (key: string, v: unknown, min: number, max: number) =>
    expectNumber(method, `request.${key}`, v, { integer: true, min, max });
  const rate = (key: string, v: unknown) => {
    const lr = expectNumber(method, `request.${key}`, v, { min: 0, max: 10 });
    if (lr === 0) throw new LabApiError('bad-arguments', `${method}: request.${key} must be greater than 0`);
    return lr;
  };
  const out: DistillViewRequest = {
    teacher: pattern(method, 'request.teacher', r.teacher, RUN_ID, 'a run id'),
    family: expectEnum(method, 'request.family', r.family, DISTILL_FAMILIES),
    hybrid: pattern(method, 'request.hybrid', r.hybrid, HYBRID, 'none, every:K or layers:i,j'),
  };
  if (r.steps !== undefined) out.steps = int('steps', r.steps, 1, 10_000_000);
  if (r.lr !== undefined) out.lr = rate('lr', r.lr);
  if (r.stages !== undefined) {
    if (!Array.isArray(r.stages) || r.stages.length > 16)
      throw new LabApiError('bad-arguments', `${method}: request.stages must be a list of at most 16 stages`);
    out.stages = r.stages.map((raw, i) => distillStageEdit(method, `request.stages[${i}]`, raw));
  }
  if (r.transfer !== undefined) {
    if (!Array.isArray(r.transfer) || r.transfer.length > 20_000)
      throw new LabApiError('bad-arguments', `${method}: request.transfer must be a list of at most 20000 rows`);
    out.transfer = r.transfer.map((raw, i) => distillTransferRow(method, `request.transfer[${i}]`, raw));
  }
  if (r.data !== undefined) out.data = distillData(method, r.data);
  if (r.batch !== undefined) out.batch = int('batch', r.batch, 1, 65_536);
  if (r.seqLen !== undefined) out.seqLen = int('seqLen', r.seqLen, 2, 1 << 20);
  if (r.evalEvery !== undefined) out.evalEvery = int('evalEvery', r.evalEvery, 0, 10_000_000);
  if (r.evalBatches !== undefined) out.evalBatches = int('evalBatches', r.evalBatches, 0, 10_000);
  if (r.seed !== undefined) out.seed = int('seed', r.seed, 0, 2 ** 32 - 1);
  if (r.name !== undefined) out.name = expectString(method, 'request.name', r.name, 200);
  return out;
}

type ArgumentCheck<M extends LabMethod> = (args: unknown[]) => Parameters<LabApi[M]>;

const none =
  <M extends LabMethod>(method: M): ArgumentCheck<M> =>
  (args) => {
    expectCount(method, args, []);
    return [] as unknown as Parameters<LabApi[M]>;
  };

const MAX_CHECKPOINT_BYTES = 1 << 30;

/** Per method: checks untrusted arguments and returns them typed, or throws a `bad-arguments` error. */
export const LAB_API_ARGUMENTS: { [M in LabMethod]: ArgumentCheck<M> } = {
  appInfo: none('appInfo'),
  listTexts: none('listTexts'),
  readText: (args) => {
    expectCount('readText', args, ['id']);
    return [textId('readText', args[0])];
  },
  readTokens: (args) => {
    expectCount('readTokens', args, ['spec']);
    return [textSpec('readTokens', args[0])];
  },
  previewData: (args) => {
    expectCount('previewData', args, ['spec']);
    return [textSpec('previewData', args[0])];
  },
  listDataFiles: none('listDataFiles'),
  importDataFile: (args) => {
    expectCount('importDataFile', args, ['name', 'data']);
    return [
      pattern('importDataFile', 'name', args[0], DATA_FILE_NAME, 'a data file name (name.ext, no folders)'),
      expectBytes('importDataFile', 'data', args[1], MAX_CHECKPOINT_BYTES),
    ];
  },
  workspace: none('workspace'),
  chooseWorkspace: none('chooseWorkspace'),
  openRecentWorkspace: (args) => {
    expectCount('openRecentWorkspace', args, ['path']);
    return [expectString('openRecentWorkspace', 'path', args[0], 4096)];
  },
  listTemplates: none('listTemplates'),
  readTemplate: (args) => {
    expectCount('readTemplate', args, ['id']);
    return [textId('readTemplate', args[0])];
  },
  listGraphs: none('listGraphs'),
  readGraph: (args) => {
    expectCount('readGraph', args, ['name']);
    return [graphName('readGraph', args[0])];
  },
  saveGraph: (args) => {
    expectCount('saveGraph', args, ['name', 'text']);
    return [graphName('saveGraph', args[0]), expectString('saveGraph', 'text', args[1], 16 << 20)];
  },
  createRun: (args) => {
    expectCount('createRun', args, ['request']);
    return [newRun('createRun', args[0])];
  },
  appendMetrics: (args) => {
    expectCount('appendMetrics', args, ['runId', 'rows']);
    return [runId('appendMetrics', args[0]), metricsRows('appendMetrics', args[1])];
  },
  saveCheckpoint: (args) => {
    expectCount('saveCheckpoint', args, ['runId', 'model', 'optimizer']);
    return [
      runId('saveCheckpoint', args[0]),
      expectBytes('saveCheckpoint', 'model', args[1], MAX_CHECKPOINT_BYTES),
      expectBytes('saveCheckpoint', 'optimizer', args[2], MAX_CHECKPOINT_BYTES),
    ];
  },
  finishRun: (args) => {
    expectCount('finishRun', args, ['runId', 'status', 'message']);
    return [
      runId('finishRun', args[0]),
      expectEnum('finishRun', 'status', args[1], RUN_STATUSES),
      expectString('finishRun', 'message', args[2], 10_000),
    ];
  },
  listRuns: none('listRuns'),
  readRun: (args) => {
    expectCount('readRun', args, ['runId']);
    return [runId('readRun', args[0])];
  },
  resumeRun: (args) => {
    expectCount('resumeRun', args, ['runId', 'steps']);
    return [
      runId('resumeRun', args[0]),
      expectNumber('resumeRun', 'steps', args[1], { integer: true, min: 1, max: 10_000_000 }),
    ];
  },
  // ---- Export view (issue 10)
  exportFormats: (args) => {
    expectCount('exportFormats', args, ['runId']);
    return [runId('exportFormats', args[0])];
  },
  exportCheckpoint: (args) => {
    expectCount('exportCheckpoint', args, ['runId', 'step', 'format']);
    return [
      runId('exportCheckpoint', args[0]),
      step('exportCheckpoint', args[1]),
      expectEnum('exportCheckpoint', 'format', args[2], EXPORT_FORMAT_IDS),
    ];
  },
  exportDownload: (args) => {
    expectCount('exportDownload', args, ['runId', 'step', 'format']);
    return [
      runId('exportDownload', args[0]),
      step('exportDownload', args[1]),
      expectEnum('exportDownload', 'format', args[2], EXPORT_FORMAT_IDS),
    ];
  },
  // ---- Sweep view (issue 14)
  listSweeps: none('listSweeps'),
  readSweep: (args) => {
    expectCount('readSweep', args, ['ref']);
    return [sweepRef('readSweep', args[0])];
  },
  startSweep: (args) => {
    expectCount('startSweep', args, ['ref']);
    return [sweepRef('startSweep', args[0])];
  },
  stopSweep: none('stopSweep'),
  sweepProgress: none('sweepProgress'),
  sweepResults: (args) => {
    expectCount('sweepResults', args, ['ref']);
    return [sweepRef('sweepResults', args[0])];
  },
  sweepChart: (args) => {
    expectCount('sweepChart', args, ['ref', 'xAxis']);
    return [sweepRef('sweepChart', args[0]), expectString('sweepChart', 'xAxis', args[1], 200)];
  },
  sweepCsv: (args) => {
    expectCount('sweepCsv', args, ['ref']);
    return [sweepRef('sweepCsv', args[0])];
  },
  importSweepFile: (args) => {
    expectCount('importSweepFile', args, ['name', 'text']);
    return [
      pattern('importSweepFile', 'name', args[0], SWEEP_FILE_NAME, 'a sweep file name (name.json, no folders)'),
      expectString('importSweepFile', 'text', args[1], 1 << 20),
    ];
  },
  // ---- Playground view (issue 13)
  playgroundModel: (args) => {
    expectCount('playgroundModel', args, ['runId', 'step']);
    return [runId('playgroundModel', args[0]), step('playgroundModel', args[1])];
  },
  listPromptSets: none('listPromptSets'),
  savePromptSet: (args) => {
    expectCount('savePromptSet', args, ['set']);
    return [promptSet('savePromptSet', args[0])];
  },
  deletePromptSet: (args) => {
    expectCount('deletePromptSet', args, ['name']);
    return [promptSetName('deletePromptSet', 'name', args[0])];
  },
  // ---- Inspect view (issue 8)
  inspectRun: (args) => {
    expectCount('inspectRun', args, ['runId']);
    return [runId('inspectRun', args[0])];
  },
  startAnalysis: (args) => {
    expectCount('startAnalysis', args, ['runId', 'analysis', 'options']);
    return [
      runId('startAnalysis', args[0]),
      expectEnum('startAnalysis', 'analysis', args[1], ANALYSIS_NAMES),
      analysisOptions('startAnalysis', args[2]),
    ];
  },
  analysisProgress: none('analysisProgress'),
  readAnalysis: (args) => {
    expectCount('readAnalysis', args, ['runId', 'name']);
    return [
      runId('readAnalysis', args[0]),
      pattern('readAnalysis', 'name', args[1], ANALYSIS_FILE, 'an analysis file name (without .json)'),
    ];
  },
  // ---- Distill view (issue 9)
  distillChoices: none('distillChoices'),
  previewDistill: (args) => {
    expectCount('previewDistill', args, ['request']);
    return [distillRequest('previewDistill', args[0])];
  },
  startDistill: (args) => {
    expectCount('startDistill', args, ['request']);
    return [distillRequest('startDistill', args[0])];
  },
  distillProgress: (args) => {
    expectCount('distillProgress', args, ['since']);
    return [expectNumber('distillProgress', 'since', args[0], { integer: true, min: 0 })];
  },
  stopDistill: none('stopDistill'),
  readDistill: (args) => {
    expectCount('readDistill', args, ['runId']);
    return [runId('readDistill', args[0])];
  },
};

export const LAB_METHODS = Object.keys(LAB_API_ARGUMENTS) as LabMethod[];

/** Methods whose HTTP bodies carry checkpoints or datasets (the browser-mode server allows them more). */
export const BULK_METHODS: ReadonlySet<LabMethod> = new Set(['saveCheckpoint', 'appendMetrics', 'importDataFile']);

export function isLabMethod(name: string): name is LabMethod {
  return Object.prototype.hasOwnProperty.call(LAB_API_ARGUMENTS, name);
}

// ---------------------------------------------------------------- transports

/** What a transport carries back: a result, or an error that the client rethrows as `LabApiError`. */
export type LabReply<T = unknown> = { result: T } | { error: { code: LabErrorCode; message: string } };

export type LabTransport = (method: LabMethod, args: unknown[]) => Promise<LabReply>;

/** The shape of the preload bridge (`window.lab` in Electron): one function per method, replies as data. */
export type LabBridge = { [M in LabMethod]: (...args: Parameters<LabApi[M]>) => Promise<LabReply> };

export function createLabClient(transport: LabTransport): LabApi {
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of LAB_METHODS) {
    client[method] = async (...args) => {
      const reply = await transport(method, args);
      if ('error' in reply) throw new LabApiError(reply.error.code, reply.error.message);
      return reply.result;
    };
  }
  return client as unknown as LabApi;
}
