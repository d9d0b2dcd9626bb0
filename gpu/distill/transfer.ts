// The weight-transfer table: which teacher tensor initializes which student tensor, and how. Built
// automatically from how the student lines up with the teacher (student.ts), saved as JSON that a user can
// edit, validated before anything trains, and applied on the CPU (exact float copies).
//
// Rules (Mamba-in-the-Llama, LoLCATs, Liger): embeddings, norms, MLPs and the head are copied; a converted
// attention layer gives its q/k/v/o projections to the recurrent family's q/k/v/o (GLA, linear attention,
// DeltaNet, Gated DeltaNet) or, for Mamba-2, q→C, k→B, v→x and o→out_proj inside in_proj's row slices;
// grouped-query k/v heads are repeated to the student's head count; parameters the family adds (decays,
// dt, gates, convolutions, output norms) keep the family's initialization ('init' rows); teacher tensors
// with no counterpart (projection biases, the forget gate) are listed as 'drop'.

import type { CompiledModel } from '../graph/compile.js';
import { MIXER_PREFIX } from '../graph/catalogue.js';
import { attentionConfig, type AttentionConfig } from '../nn/mixers/attention/attention.js';
import { mamba2Config } from '../nn/mixers/linear-matrix/mamba2.js';
import type { ParamSpec } from '../nn/module.js';
import { DistillError, mixerInstances, STUDENT_FAMILIES, type StudentMap } from './student.js';

export const TRANSFER_FORMAT = 'statelab-transfer';
export const TRANSFORMS = ['copy', 'repeat_kv', 'init', 'drop'] as const;
export type Transform = (typeof TRANSFORMS)[number];

export interface TransferRow {
  /** Teacher parameter (null for 'init'). */
  teacher: string | null;
  /** Student parameter (null for 'drop'). */
  student: string | null;
  /**
   * copy: the tensor as it is; repeat_kv: each head of `headDim` rows repeated `repeat` times (grouped-query
   * k/v heads → one per student head); init: the student keeps its family's initialization; drop: the
   * teacher tensor is not used.
   */
  transform: Transform;
  repeat?: number;
  headDim?: number;
  /** Only rows [start, end) of the student tensor's first axis (Mamba-2's in_proj slices). */
  rows?: [number, number];
  note: string;
}

export interface TransferTable {
  format: typeof TRANSFER_FORMAT;
  version: 1;
  teacher: string;
  student: string;
  rows: TransferRow[];
}

export type TensorData = { shape: readonly number[]; data: Float32Array };
export type Shapes = Map<string, readonly number[]>;

export class TransferError extends DistillError {
  constructor(readonly problems: string[]) {
    super(
      `the transfer table is refused (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems
          .slice(0, 12)
          .map((p) => `  - ${p}`)
          .join('\n') +
        (problems.length > 12 ? `\n  … and ${problems.length - 12} more` : ''),
    );
    this.name = 'TransferError';
  }
}

export function shapesOf(specs: readonly ParamSpec[]): Shapes {
  return new Map(specs.map((s) => [s.name, s.shape]));
}

/** A module's parameters with names relative to it. */
function localParams(model: CompiledModel, module: string): ParamSpec[] {
  return model.specs
    .filter((s) => s.name.startsWith(`${module}.`))
    .map((s) => ({ ...s, name: s.name.slice(module.length + 1) }));
}

const RECURRENT_QKVO = new Set(['gla', 'linear_attn', 'deltanet', 'gated_deltanet']);

/** Rows for one attention layer turned into `family`. */
function convertedRows(
  t: string,
  s: string,
  a: AttentionConfig,
  family: string,
  studentParams: Record<string, string | number | boolean>,
  dModel: number,
): TransferRow[] {
  const rep = a.heads / a.kvHeads;
  const kv = (name: string, target: string, rows: [number, number] | undefined, note: string): TransferRow =>
    rep > 1
      ? {
          teacher: `${t}.${name}.weight`,
          student: target,
          transform: 'repeat_kv',
          repeat: rep,
          headDim: a.headDim,
          ...(rows ? { rows } : {}),
          note: `${note}; ${a.kvHeads} kv heads repeated ×${rep} to ${a.heads} heads`,
        }
      : { teacher: `${t}.${name}.weight`, student: target, transform: 'copy', ...(rows ? { rows } : {}), note };
  const rows: TransferRow[] = [];
  if (RECURRENT_QKVO.has(family)) {
    rows.push(
      { teacher: `${t}.q_proj.weight`, student: `${s}.q_proj.weight`, transform: 'copy', note: `q → ${family} q` },
      kv('k_proj', `${s}.k_proj.weight`, undefined, `k → ${family} k`),
      kv('v_proj', `${s}.v_proj.weight`, undefined, `v → ${family} v`),
      { teacher: `${t}.o_proj.weight`, student: `${s}.o_proj.weight`, transform: 'copy', note: `o → ${family} o` },
    );
  } else if (family === 'mamba2') {
    const c = mamba2Config(dModel, studentParams);
    const gn = c.groups * c.dState;
    const [z, x, b, cc] = [0, c.dInner, 2 * c.dInner, 2 * c.dInner + gn];
    const inProj = `${s}.in_proj.weight`;
    rows.push(
      { teacher: null, student: inProj, transform: 'init', rows: [z, x], note: 'z (output gate): new' },
      kv('v_proj', inProj, [x, b], 'v → x (Mamba-in-the-Llama)'),
      kv('k_proj', inProj, [b, cc], 'k → B'),
      {
        teacher: `${t}.q_proj.weight`,
        student: inProj,
        transform: 'copy',
        rows: [cc, cc + gn],
        note: 'q → C (attention scales q·k by 1/√head_dim, Mamba-2 does not)',
      },
      { teacher: null, student: inProj, transform: 'init', rows: [cc + gn, cc + gn + c.heads], note: 'dt: new' },
      { teacher: `${t}.o_proj.weight`, student: `${s}.out_proj.weight`, transform: 'copy', note: 'o → out_proj' },
    );
  } else {
    throw new DistillError(
      `no transfer rule from attention to ${family} (rules exist for ${STUDENT_FAMILIES.join(', ')})`,
    );
  }
  const dropped = (name: string, why: string): TransferRow => ({
    teacher: `${t}.${name}`,
    student: null,
    transform: 'drop',
    note: why,
  });
  if (a.qkvBias)
    for (const p of ['q_proj', 'k_proj', 'v_proj']) rows.push(dropped(`${p}.bias`, `${family} has no ${p} bias`));
  if (a.oBias) rows.push(dropped('o_proj.bias', `${family} has no output bias`));
  if (a.forgetGate) {
    rows.push(dropped('fgate_proj.weight', 'the forget gate has no counterpart'));
    rows.push(dropped('fgate_proj.bias', 'the forget gate has no counterpart'));
  }
  return rows;
}

/** The automatic table: every teacher parameter and every student parameter appears in some row. */
export function buildTransferTable(teacher: CompiledModel, student: CompiledModel, map: StudentMap): TransferTable {
  const rows: TransferRow[] = [];
  const studentKinds = new Map(student.modules.map((m) => [m.name, m.kind]));
  const teacherMixers = new Map(mixerInstances(teacher.graph).map((m) => [m.name, m.node]));
  const studentMixers = new Map(mixerInstances(student.graph).map((m) => [m.name, m.node]));
  for (const m of teacher.modules) {
    const own = localParams(teacher, m.name);
    if (own.length === 0) continue;
    const s = map.modules[m.name];
    const sKind = s ? studentKinds.get(s)! : undefined;
    if (!s) {
      for (const p of own)
        rows.push({
          teacher: `${m.name}.${p.name}`,
          student: null,
          transform: 'drop',
          note: `no student module "${m.name}"`,
        });
      continue;
    }
    if (m.kind === `${MIXER_PREFIX}attention` && sKind !== m.kind && sKind!.startsWith(MIXER_PREFIX)) {
      const t = teacherMixers.get(m.name)!;
      const family = sKind!.slice(MIXER_PREFIX.length);
      const a = attentionConfig(t.inWidth, t.params);
      const sNode = studentMixers.get(s)!;
      rows.push(...convertedRows(m.name, s, a, family, sNode.params, sNode.inWidth));
      continue;
    }
    const studentLocal = new Set(localParams(student, s).map((p) => p.name));
    for (const p of own) {
      rows.push(
        sKind === m.kind && studentLocal.has(p.name)
          ? { teacher: `${m.name}.${p.name}`, student: `${s}.${p.name}`, transform: 'copy', note: noteFor(m.kind) }
          : {
              teacher: `${m.name}.${p.name}`,
              student: null,
              transform: 'drop',
              note: `the student's ${s} (${sKind}) has no "${p.name}"`,
            },
      );
    }
  }
  // Whatever no row writes keeps the family's initialization; partial writes (in_proj slices) listed their own.
  const written = new Set(rows.filter((r) => r.student).map((r) => r.student));
  for (const spec of student.specs) {
    if (written.has(spec.name)) continue;
    const kind = student.modules.find((m) => spec.name.startsWith(`${m.name}.`))?.kind ?? 'student';
    rows.push({
      teacher: null,
      student: spec.name,
      transform: 'init',
      note: `new ${kind.replace(MIXER_PREFIX, '')} parameter: the family's initialization`,
    });
  }
  return {
    format: TRANSFER_FORMAT,
    version: 1,
    teacher: teacher.graph.doc.name,
    student: student.graph.doc.name,
    rows,
  };
}

function noteFor(kind: string): string {
  if (kind === `${MIXER_PREFIX}attention`) return 'attention kept (hybrid layer)';
  return `${kind.replace(MIXER_PREFIX, '')} copied`;
}

const describeRow = (r: TransferRow, i: number) =>
  `row ${i} (${r.teacher ?? '—'} → ${r.student ?? '—'}${r.rows ? ` rows ${r.rows[0]}:${r.rows[1]}` : ''}, ${r.transform})`;

/** The shape a teacher tensor has after the row's transform. */
function transformedShape(r: TransferRow, shape: readonly number[]): number[] {
  if (r.transform !== 'repeat_kv') return [...shape];
  return [shape[0] * r.repeat!, ...shape.slice(1)];
}

/** The shape of the student region a row writes (the whole tensor, or a slice of its first axis). */
function regionShape(r: TransferRow, shape: readonly number[]): number[] {
  return r.rows ? [r.rows[1] - r.rows[0], ...shape.slice(1)] : [...shape];
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Every problem of a table against the two models' parameter shapes (empty: the table is valid). */
export function transferProblems(table: TransferTable, teacher: Shapes, student: Shapes): string[] {
  const problems: string[] = [];
  /** Student name → row ranges written, to refuse two rows writing the same values. */
  const writes = new Map<string, { range: [number, number]; row: number }[]>();
  table.rows.forEach((r, i) => {
    const where = describeRow(r, i);
    if (!TRANSFORMS.includes(r.transform)) {
      problems.push(`${where}: unknown transform "${r.transform}" (use ${TRANSFORMS.join(', ')})`);
      return;
    }
    const needsTeacher = r.transform !== 'init';
    const needsStudent = r.transform !== 'drop';
    if (needsTeacher !== (typeof r.teacher === 'string'))
      return void problems.push(
        `${where}: ${needsTeacher ? 'needs a teacher parameter' : 'takes no teacher parameter'}`,
      );
    if (needsStudent !== (typeof r.student === 'string'))
      return void problems.push(
        `${where}: ${needsStudent ? 'needs a student parameter' : 'takes no student parameter'}`,
      );
    const tShape = r.teacher !== null ? teacher.get(r.teacher) : undefined;
    const sShape = r.student !== null ? student.get(r.student) : undefined;
    if (r.teacher !== null && !tShape) return void problems.push(`${where}: unknown teacher parameter "${r.teacher}"`);
    if (r.student !== null && !sShape) return void problems.push(`${where}: unknown student parameter "${r.student}"`);
    if (!sShape) return; // a drop row: nothing more to check
    if (r.rows) {
      const [a, b] = r.rows;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b <= a || b > sShape[0])
        return void problems.push(`${where}: rows ${a}:${b} are not a range within ${r.student} ${fmt(sShape)}`);
    }
    if (r.transform === 'repeat_kv') {
      const { repeat, headDim } = r;
      if (!Number.isInteger(repeat) || repeat! < 1 || !Number.isInteger(headDim) || headDim! < 1)
        return void problems.push(`${where}: repeat_kv needs integer "repeat" ≥ 1 and "headDim" ≥ 1`);
      if (tShape![0] % headDim! !== 0)
        return void problems.push(
          `${where}: teacher ${r.teacher} ${fmt(tShape!)} is not a whole number of heads of ${headDim} rows`,
        );
    }
    const range: [number, number] = r.rows ?? [0, sShape[0] ?? 1];
    const earlier = writes.get(r.student!) ?? [];
    const clash = earlier.find((w) => w.range[0] < range[1] && range[0] < w.range[1]);
    if (clash) problems.push(`${where}: writes the same values of "${r.student}" as row ${clash.row}`);
    writes.set(r.student!, [...earlier, { range, row: i }]);
    if (tShape) {
      const produced = transformedShape(r, tShape);
      const target = regionShape(r, sShape);
      if (produced.join() !== target.join()) {
        problems.push(
          `${where}: shapes differ — teacher "${r.teacher}" ${fmt(tShape)}` +
            (r.transform === 'repeat_kv' ? ` (${fmt(produced)} after repeat_kv ×${r.repeat})` : '') +
            `, student "${r.student}" ${fmt(sShape)}${r.rows ? ` (rows ${r.rows[0]}:${r.rows[1]}: ${fmt(target)})` : ''}`,
        );
      }
    }
  });
  return problems;
}

/**
 * The teacher parameters that could feed a row's student region under its transform — an 'init' row's as a
 * plain copy — the choices a view offers when the user re-sources a row (empty for 'drop' rows). Every one
 * passes transferProblems' shape check for that row.
 */
export function compatibleSources(row: TransferRow, teacher: Shapes, student: Shapes): string[] {
  const sShape = row.student !== null ? student.get(row.student) : undefined;
  if (!sShape || row.transform === 'drop') return [];
  const transform = row.transform === 'init' ? 'copy' : row.transform;
  const candidate: TransferRow = { ...row, transform };
  const target = regionShape(row, sShape).join();
  const fits: string[] = [];
  for (const [name, tShape] of teacher) {
    if (transform === 'repeat_kv' && !(Number.isInteger(row.headDim) && tShape[0] % row.headDim! === 0)) continue;
    if (transformedShape(candidate, tShape).join() === target) fits.push(name);
  }
  return fits;
}

/** Throws a TransferError naming every bad row (both names and both shapes) before anything trains. */
export function validateTransfer(table: TransferTable, teacher: Shapes, student: Shapes): void {
  const problems = transferProblems(table, teacher, student);
  if (problems.length) throw new TransferError(problems);
}

/**
 * Writes every teacher tensor where the table says into the student's values (which hold the student's
 * initialization); 'init' and 'drop' rows leave them as they are. Validates first.
 */
export function applyTransfer(
  table: TransferTable,
  teacher: ReadonlyMap<string, TensorData>,
  student: Map<string, TensorData>,
): void {
  validateTransfer(
    table,
    new Map([...teacher].map(([n, t]) => [n, t.shape])),
    new Map([...student].map(([n, t]) => [n, t.shape])),
  );
  for (const r of table.rows) {
    if (r.transform !== 'copy' && r.transform !== 'repeat_kv') continue;
    const source = teacher.get(r.teacher!)!;
    const target = student.get(r.student!)!;
    const rowSize = source.shape.slice(1).reduce((a, b) => a * b, 1);
    const offset = (r.rows?.[0] ?? 0) * rowSize;
    if (r.transform === 'copy') {
      target.data.set(source.data, offset);
      continue;
    }
    // Student head h reads teacher head ⌊h / repeat⌋ (the grouping attention uses for its kv heads).
    const headSize = r.headDim! * rowSize;
    const heads = (source.shape[0] / r.headDim!) * r.repeat!;
    for (let h = 0; h < heads; h++) {
      const from = Math.floor(h / r.repeat!) * headSize;
      target.data.set(source.data.subarray(from, from + headSize), offset + h * headSize);
    }
  }
}

/** Parses a table file; errors name the source and the row. */
export function parseTransferTable(text: string, source: string): TransferTable {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new DistillError(`${source}: malformed JSON (${(error as Error).message})`);
  }
  const t = doc as Partial<TransferTable>;
  if (!t || typeof t !== 'object' || t.format !== TRANSFER_FORMAT || !Array.isArray(t.rows)) {
    throw new DistillError(`${source}: not a transfer table (needs "format": "${TRANSFER_FORMAT}" and "rows": [...])`);
  }
  t.rows.forEach((r, i) => {
    const bad = (field: string, what: string) => {
      throw new DistillError(`${source}: rows[${i}].${field} ${what}`);
    };
    if (!r || typeof r !== 'object') bad('', 'is not an object');
    if (r.teacher !== null && typeof r.teacher !== 'string') bad('teacher', 'must be a parameter name or null');
    if (r.student !== null && typeof r.student !== 'string') bad('student', 'must be a parameter name or null');
    if (typeof r.transform !== 'string') bad('transform', `must be one of ${TRANSFORMS.join(', ')}`);
    if (r.rows !== undefined && (!Array.isArray(r.rows) || r.rows.length !== 2)) bad('rows', 'must be [start, end]');
    if (typeof r.note !== 'string') r.note = '';
  });
  return t as TransferTable;
}

/** The table as aligned text, with both shapes (what `statelab distill --print-transfer` shows). */
export function formatTransferTable(table: TransferTable, teacher: Shapes, student: Shapes): string {
  const cells = table.rows.map((r) => [
    r.teacher ? `${r.teacher} ${fmt(teacher.get(r.teacher) ?? [])}` : '—',
    r.transform === 'repeat_kv' ? `repeat_kv ×${r.repeat}` : r.transform,
    r.student
      ? `${r.student}${r.rows ? `[${r.rows[0]}:${r.rows[1]}]` : ''} ${fmt(regionShape(r, student.get(r.student) ?? []))}`
      : '—',
    r.note,
  ]);
  const header = ['teacher', 'transform', 'student', 'note'];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
