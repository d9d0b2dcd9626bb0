// The Distill view's state: the request being set up (teacher, student family, hybrid, the recipe and the
// per-stage edits), the plan the host checked for it, the distillation the host runs — polled for its new
// metric rows until it ends — and a finished distill run reopened. The host plans and distills (the code of
// `statelab distill`); the page names the teacher and the choices, and draws what comes back.

import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import {
  DISTILL_LOSS_TERMS,
  type BundledText,
  type DataFileInfo,
  type DistillChoices,
  type DistillDataChoice,
  type DistillFamily,
  type DistillLossTerm,
  type DistillStageEdit,
  type DistillTransferRow,
  type DistillMetricRow,
  type DistillPreview,
  type DistillProgress,
  type DistillRunView,
  type DistillStageRange,
  type DistillTransferRowView,
  type DistillViewRequest,
} from '../../../shared/lab-api';
import { lab } from '../lab';

const POLL_MS = 500;

/** Form fields as typed; empty keeps the host's default (shown as the placeholder). */
export interface DistillForm {
  steps: string;
  lr: string;
  batch: string;
  seqLen: string;
  evalEvery: string;
  /** Per stage of the recipe: its edits as typed. */
  stages: StageForm[];
}

/** A stage's fields as typed; empty keeps the plan's value. */
export interface StageForm {
  steps: string;
  lr: string;
  /** Per loss term, its weight (0 turns the term off). */
  weights: Record<DistillLossTerm, string>;
  /** KL's temperature. */
  temperature: string;
  /** The parameters that train: name patterns separated by commas. */
  train: string;
}

export const emptyStage = (): StageForm => ({
  steps: '',
  lr: '',
  weights: { kl: '', ce: '', attention: '', hidden: '' },
  temperature: '',
  train: '',
});

const emptyForm = (): DistillForm => ({ steps: '', lr: '', batch: '', seqLen: '', evalEvery: '', stages: [] });

/** A row of the previewed table as the request carries it (no shapes, sources or marks). */
export function transferRow(row: DistillTransferRowView | DistillTransferRow): DistillTransferRow {
  return {
    teacher: row.teacher,
    student: row.student,
    transform: row.transform,
    ...(row.rows ? { rows: [row.rows[0], row.rows[1]] as [number, number] } : {}),
    ...(row.repeat !== undefined ? { repeat: row.repeat } : {}),
    ...(row.headDim !== undefined ? { headDim: row.headDim } : {}),
    note: row.note,
  };
}

/**
 * A row given another teacher tensor, or skipped (null): the student tensor keeps its family's
 * initialization. A skipped row's source comes back as a copy; repeat_kv rows keep their repeat.
 */
export function resourced(row: DistillTransferRow, source: string | null): DistillTransferRow {
  const was = row.teacher ?? "the family's initialization";
  if (source === null) {
    const { teacher: _teacher, transform: _transform, repeat: _repeat, headDim: _headDim, ...rest } = row;
    return { ...rest, teacher: null, transform: 'init', note: `skipped (was ${was}): the family's initialization` };
  }
  return {
    ...row,
    teacher: source,
    transform: row.transform === 'init' ? 'copy' : row.transform,
    note: `source chosen in the view (was ${was})`,
  };
}

/** The numbers of the filled-in fields, or the first field that is not one (named as the form labels it). */
export function parseForm(form: DistillForm): { numbers: Partial<DistillViewRequest> } | { problem: string } {
  const numbers: Partial<DistillViewRequest> = {};
  /** `above`: the number must exceed `min` (rates, temperatures) rather than reach it (counts, weights). */
  const read = (
    label: string,
    text: string,
    integer: boolean,
    min: number,
    above = !integer,
  ): number | string | undefined => {
    const raw = text.trim();
    if (raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
      return `${label}: "${raw}" is not ${integer ? 'an integer' : 'a number'}`;
    if (above ? n <= min : n < min) return `${label}: ${n} must be ${above ? 'above' : 'at least'} ${min}`;
    return n;
  };
  const fields = [
    ['steps', 'total steps', true, 1],
    ['lr', 'learning rate', false, 0],
    ['batch', 'batch', true, 1],
    ['seqLen', 'sequence length', true, 2],
    ['evalEvery', 'evaluate every', true, 0],
  ] as const;
  for (const [key, label, integer, min] of fields) {
    const value = read(label, form[key], integer, min);
    if (typeof value === 'string') return { problem: value };
    if (value !== undefined) numbers[key] = value;
  }
  const stages: DistillStageEdit[] = [];
  for (const [i, stage] of form.stages.entries()) {
    const steps = read(`stage ${i + 1} steps`, stage.steps, true, 1);
    const lr = read(`stage ${i + 1} learning rate`, stage.lr, false, 0);
    if (typeof steps === 'string') return { problem: steps };
    if (typeof lr === 'string') return { problem: lr };
    const edit: DistillStageEdit = { ...(steps !== undefined ? { steps } : {}), ...(lr !== undefined ? { lr } : {}) };
    const losses: NonNullable<DistillStageEdit['losses']> = {};
    for (const term of DISTILL_LOSS_TERMS) {
      // A weight of 0 turns the term off; whether the stage keeps some term is the host's check.
      const weight = read(`stage ${i + 1} ${term} weight`, stage.weights[term], false, 0, false);
      if (typeof weight === 'string') return { problem: weight };
      if (weight !== undefined) losses[term] = { weight };
    }
    const temperature = read(`stage ${i + 1} KL temperature`, stage.temperature, false, 0);
    if (typeof temperature === 'string') return { problem: temperature };
    if (temperature !== undefined) losses.kl = { ...losses.kl, temperature };
    if (Object.keys(losses).length) edit.losses = losses;
    // Patterns as typed, empty ones dropped: a list left empty is sent, and the host names what is wrong.
    if (stage.train.trim()) edit.train = stage.train.split(',').flatMap((p) => (p.trim() ? [p.trim()] : []));
    stages.push(edit);
  }
  // Trailing untouched stages say nothing; the host keeps the recipe's values there.
  while (stages.length && Object.keys(stages[stages.length - 1]).length === 0) stages.pop();
  if (stages.length) numbers.stages = stages;
  return { numbers };
}

/** What the curves show: the running (or last) distillation, or a reopened run. */
export interface DistillShown {
  run: string | null;
  title: string;
  status: string;
  stages: DistillStageRange[];
  rows: DistillMetricRow[];
}

export const useDistillStore = defineStore('distill', () => {
  const choices = shallowRef<DistillChoices | null>(null);
  const teacher = ref<string | null>(null);
  const family = ref<DistillFamily>('gla');
  const hybrid = ref('none');
  const form = ref<DistillForm>(emptyForm());
  /** The transfer table the page asks for: the previewed one with the user's edits; null: the automatic one. */
  const transfer = shallowRef<DistillTransferRow[] | null>(null);
  /** What to distill on; null: the teacher's own data. */
  const data = ref<DistillDataChoice | null>(null);
  /** The bundled texts and the workspace's data files, which the data choice offers. */
  const texts = shallowRef<BundledText[]>([]);
  const dataFiles = shallowRef<DataFileInfo[]>([]);
  const preview = shallowRef<DistillPreview | null>(null);
  const progress = ref<DistillProgress | null>(null);
  /** Every metric row of the running (or last) distillation, in order. */
  const rows = shallowRef<DistillMetricRow[]>([]);
  const opened = shallowRef<DistillRunView | null>(null);
  /** The host's message when a call failed (naming the field or the teacher), or a form problem. */
  const problem = ref<string | null>(null);
  const busy = ref(false);
  let timer: ReturnType<typeof setTimeout> | null = null;

  const parsed = computed(() => parseForm(form.value));
  const formProblem = computed(() => ('problem' in parsed.value ? parsed.value.problem : null));
  const running = computed(() => ['starting', 'running', 'stopping'].includes(progress.value?.state ?? ''));
  const canPreview = computed(() => !!teacher.value && !formProblem.value && !busy.value);
  const canStart = computed(() => canPreview.value && !!choices.value?.canRun && !running.value);

  const shown = computed<DistillShown | null>(() => {
    if (opened.value)
      return {
        run: opened.value.run,
        title: opened.value.name,
        status: opened.value.status,
        stages: opened.value.stages,
        rows: opened.value.rows,
      };
    const p = progress.value;
    if (!p) return null;
    return { run: p.run, title: `${p.teacher} → ${p.student}`, status: p.state, stages: p.stages, rows: rows.value };
  });

  function request(): DistillViewRequest | null {
    if (!teacher.value || !('numbers' in parsed.value)) return null;
    return {
      teacher: teacher.value,
      family: family.value,
      hybrid: hybrid.value.trim() || 'none',
      ...parsed.value.numbers,
      ...(transfer.value ? { transfer: transfer.value.map(transferRow) } : {}),
      ...(data.value ? { data: { ...data.value } } : {}),
    };
  }

  /** The table row `i` as the next request will send it (the user's edit, else the previewed row). */
  function tableRow(i: number): DistillTransferRow | null {
    const row = transfer.value?.[i] ?? preview.value?.transfer[i];
    return row ? transferRow(row) : null;
  }

  /** Gives row `i` another teacher tensor, or skips it (null); the host checks the table at the next preview. */
  function setSource(i: number, source: string | null): void {
    const rows = transfer.value ?? preview.value?.transfer.map(transferRow);
    if (!rows?.[i]) return;
    transfer.value = rows.map((row, j) => (j === i ? resourced(row, source) : row));
  }

  /** Back to the automatic table (at the next preview). */
  function resetTransfer(): void {
    transfer.value = null;
  }

  async function refreshChoices(): Promise<void> {
    try {
      choices.value = await lab.distillChoices();
      if (!teacher.value && choices.value.teachers.length) teacher.value = choices.value.teachers[0].run;
    } catch (error) {
      problem.value = `Could not list the teachers: ${(error as Error).message}`;
      return;
    }
    try {
      [texts.value, dataFiles.value] = await Promise.all([lab.listTexts(), lab.listDataFiles()]);
    } catch (error) {
      problem.value = `Could not list the data to distill on: ${(error as Error).message}`;
    }
  }

  /** A new teacher, family or hybrid changes the stages and the table: their edits no longer apply. */
  function changed(): void {
    preview.value = null;
    transfer.value = null;
    form.value = { ...form.value, stages: [] };
  }

  async function previewNow(): Promise<void> {
    const r = request();
    if (!r) return;
    busy.value = true;
    problem.value = null;
    try {
      const plan = await lab.previewDistill(r);
      preview.value = plan;
      const stages = plan.stages.map((_, i) => form.value.stages[i] ?? emptyStage());
      form.value = { ...form.value, stages };
    } catch (error) {
      // The last accepted plan stays (a new teacher, family or hybrid clears it): its stage fields and table
      // are where the refused edit is fixed.
      problem.value = (error as Error).message;
    } finally {
      busy.value = false;
    }
  }

  async function start(): Promise<void> {
    const r = request();
    if (!r || !canStart.value) return;
    busy.value = true;
    problem.value = null;
    try {
      progress.value = await lab.startDistill(r);
      rows.value = [];
      opened.value = null;
      poll();
    } catch (error) {
      problem.value = (error as Error).message;
    } finally {
      busy.value = false;
    }
  }

  async function stop(): Promise<void> {
    try {
      const p = await lab.stopDistill();
      if (p) progress.value = { ...p, rows: [] };
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  function poll(): void {
    if (timer) clearTimeout(timer);
    timer = setTimeout(async () => {
      timer = null;
      try {
        const p = await lab.distillProgress(rows.value.length);
        progress.value = p;
        if (p?.rows.length) rows.value = [...rows.value, ...p.rows];
      } catch (error) {
        problem.value = `Lost the distillation's progress: ${(error as Error).message}`;
        return;
      }
      if (running.value) return poll();
      await refreshChoices(); // the new run joins the list of distill runs
    }, POLL_MS);
  }

  /** Picks up a distillation already running or finished (the view was reopened, or the page reloaded). */
  async function attach(): Promise<void> {
    try {
      const p = await lab.distillProgress(0);
      progress.value = p;
      rows.value = p?.rows ?? [];
      if (running.value) poll();
    } catch (error) {
      problem.value = (error as Error).message;
    }
  }

  async function open(runId: string): Promise<void> {
    problem.value = null;
    try {
      opened.value = await lab.readDistill(runId);
    } catch (error) {
      problem.value = `Could not open ${runId}: ${(error as Error).message}`;
    }
  }

  function closeOpened(): void {
    opened.value = null;
  }

  return {
    choices,
    teacher,
    family,
    hybrid,
    form,
    transfer,
    data,
    texts,
    dataFiles,
    preview,
    progress,
    rows,
    opened,
    problem,
    busy,
    formProblem,
    running,
    canPreview,
    canStart,
    shown,
    refreshChoices,
    changed,
    tableRow,
    setSource,
    resetTransfer,
    previewNow,
    start,
    stop,
    attach,
    open,
    closeOpened,
  };
});
