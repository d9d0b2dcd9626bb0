// Student derivation and the weight-transfer table (CPU only: graphs compile without a GPU).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rng } from '../../gpu/cpu/tensor.js';
import { compileGraph, type CompiledModel } from '../../gpu/graph/compile.js';
import {
  deriveStudent,
  parseHybrid,
  STUDENT_FAMILIES,
  unrolledName,
  type StudentFamily,
} from '../../gpu/distill/student.js';
import {
  applyTransfer,
  buildTransferTable,
  parseTransferTable,
  shapesOf,
  TransferError,
  validateTransfer,
  type TensorData,
  type TransferTable,
} from '../../gpu/distill/transfer.js';
import { decoderGraph } from '../../main/import/graph.js';
import { parseGraph } from '../../shared/graph/parse.js';
import type { GraphDoc } from '../../shared/graph/schema.js';

/** The bundled Llama template, resized: 4 layers, d 32, 4 heads (2 kv heads: grouped-query attention). */
function teacherGraph({ layers = 4, kvHeads = 2, bias = false } = {}): GraphDoc {
  const doc = JSON.parse(readFileSync('assets/templates/llama.json', 'utf8')) as GraphDoc;
  doc.model = { d_model: 32, vocab_size: 64 };
  doc.nodes.find((n) => n.id === 'layers')!.params!.count = layers;
  const attn = doc.blocks!.block.nodes.find((n) => n.id === 'attn')!;
  attn.params = { num_heads: 4, num_kv_heads: kvHeads, ...(bias ? { qkv_bias: true, o_bias: true } : {}) };
  return doc;
}

function randomValues(model: CompiledModel, seed: number): Map<string, TensorData> {
  const next = rng(seed);
  return new Map(
    model.specs.map((s) => [
      s.name,
      { shape: s.shape, data: Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => next() - 0.5) },
    ]),
  );
}

function setup(family: StudentFamily, hybrid = 'none', teacherOptions = {}) {
  const teacherDoc = teacherGraph(teacherOptions);
  const { graph, map } = deriveStudent(teacherDoc, { family, hybrid: parseHybrid(hybrid) });
  const teacher = compileGraph(teacherDoc);
  const student = compileGraph(graph);
  return { teacherDoc, graph, map, teacher, student, table: buildTransferTable(teacher, student, map) };
}

/** What a row should have written: the teacher tensor, its kv heads repeated when the row says so. */
function expectedRegion(table: TransferTable['rows'][number], source: TensorData): Float32Array {
  if (table.transform === 'copy') return source.data;
  const rowSize = source.shape[1];
  const D = table.headDim!;
  const out = new Float32Array(source.data.length * table.repeat!);
  for (let r = 0; r < out.length / rowSize; r++) {
    const head = Math.floor(r / D);
    const teacherRow = Math.floor(head / table.repeat!) * D + (r % D);
    for (let c = 0; c < rowSize; c++) out[r * rowSize + c] = source.data[teacherRow * rowSize + c];
  }
  return out;
}

describe('student derivation', () => {
  it('converting every layer keeps the repeat and every parameter name outside the mixers', () => {
    const { teacher, student, map, graph } = setup('gla');
    expect(graph.nodes.find((n) => n.id === 'layers')!.kind).toBe('repeat');
    const teacherNames = teacher.specs.map((s) => s.name).filter((n) => !n.includes('.attn.'));
    const studentNames = new Set(student.specs.map((s) => s.name));
    for (const name of teacherNames) expect(studentNames.has(name), name).toBe(true);
    expect(map.layers.map((l) => [l.teacher, l.student, l.kind])).toEqual(
      [0, 1, 2, 3].map((i) => [`layers.${i}.attn`, `layers.${i}.attn`, 'gla']),
    );
    expect(map.hidden.map((h) => h.student)).toEqual([0, 1, 2, 3].map((i) => `layers.${i}.mlp_residual`));
  });

  it('a hybrid unrolls the repeat: names are the teacher names with underscores, attention kept where asked', () => {
    const { map, student, teacher, graph } = setup('mamba2', 'every:2');
    // The student is an ordinary graph file: it parses like any other (ids are identifiers).
    expect(parseGraph(JSON.stringify(graph), 'student.json').nodes.length).toBe(graph.nodes.length);
    expect(map.layers.map((l) => `${l.student}:${l.kind}`)).toEqual([
      'layers_0_attn:mamba2',
      'layers_1_attn:attention',
      'layers_2_attn:mamba2',
      'layers_3_attn:attention',
    ]);
    const studentNames = new Set(student.specs.map((s) => s.name));
    for (const s of teacher.specs.filter((s) => !/^layers\.[02]\.attn\./.test(s.name)))
      expect(
        studentNames.has(s.name.replace(/^(layers\.\d+\.\w+)\./, (_, path: string) => `${unrolledName(path)}.`)),
        s.name,
      ).toBe(true);
    expect(studentNames.has('layers_2_mlp.gate_proj.weight')).toBe(true);
    expect(parseHybrid('layers:1,3')).toEqual({ kind: 'layers', layers: [1, 3] });
    expect(setup('gla', 'layers:0').map.layers.map((l) => l.converted)).toEqual([false, true, true, true]);
  });

  it('refuses a teacher without attention and unknown layers, naming them', () => {
    const doc = JSON.parse(readFileSync('assets/templates/gla.json', 'utf8')) as GraphDoc;
    expect(() => deriveStudent(doc, { family: 'gla' })).toThrow(/has no attention layers/);
    expect(() => deriveStudent(teacherGraph(), { family: 'gla', hybrid: parseHybrid('layers:7') })).toThrow(
      /layer 7 does not exist \(the teacher has 4\)/,
    );
    expect(() => parseHybrid('half')).toThrow(/hybrid "half"/);
  });
});

describe('the transfer table', () => {
  for (const family of STUDENT_FAMILIES) {
    it(`${family} from a grouped-query teacher: every tensor lands where its row says`, () => {
      const { teacher, student, table } = setup(family, family === 'mamba2' ? 'every:2' : 'none', { bias: true });
      const teacherValues = randomValues(teacher, 11);
      const studentValues = randomValues(student, 12);
      const before = new Map([...studentValues].map(([n, t]) => [n, Float32Array.from(t.data)]));
      applyTransfer(table, teacherValues, studentValues);

      // Every teacher tensor appears in exactly one row; every student value is written by exactly one row.
      const teacherRows = table.rows.filter((r) => r.teacher).map((r) => r.teacher);
      expect([...teacherRows].sort()).toEqual(teacher.specs.map((s) => s.name).sort());
      for (const spec of student.specs) {
        const covered = new Uint8Array(spec.shape[0]);
        for (const r of table.rows.filter((r) => r.student === spec.name)) {
          const [a, b] = r.rows ?? [0, spec.shape[0]];
          for (let i = a; i < b; i++) covered[i]++;
        }
        expect(
          [...covered].every((c) => c === 1),
          spec.name,
        ).toBe(true);
      }
      for (const r of table.rows) {
        if (!r.student) continue;
        const target = studentValues.get(r.student)!;
        const rowSize = target.shape.slice(1).reduce((a, b) => a * b, 1);
        const [a, b] = r.rows ?? [0, target.shape[0]];
        const region = target.data.subarray(a * rowSize, b * rowSize);
        const expected =
          r.transform === 'init'
            ? before.get(r.student)!.subarray(a * rowSize, b * rowSize)
            : expectedRegion(r, teacherValues.get(r.teacher!)!);
        expect(Array.from(region), `${r.teacher} → ${r.student}`).toEqual(Array.from(expected));
      }
      // The teacher's projection biases have no place in the student: listed, not silently lost.
      expect(
        table.rows.filter((r) => r.transform === 'drop').map((r) => r.teacher!.split('.').slice(-2).join('.')),
      ).toEqual(expect.arrayContaining(['q_proj.bias', 'k_proj.bias', 'v_proj.bias', 'o_proj.bias']));
    });
  }

  it('a GPT-2-style teacher (learned positions, LayerNorm, biased projections, non-gated MLP) converts too', () => {
    const gpt2 = decoderGraph({
      name: 'tiny gpt2',
      description: '',
      dModel: 32,
      vocab: 64,
      layers: 2,
      norm: { type: 'layer', eps: 1e-5 },
      attention: { num_heads: 4, qkv_bias: true, o_bias: true, rope_theta: 0 },
      mlp: { kind: 'ffn', params: { activation: 'gelu_tanh', hidden: 0, bias: true } },
      positions: 64,
      tied: true,
    });
    const { graph, map } = deriveStudent(gpt2, { family: 'deltanet' });
    const teacher = compileGraph(gpt2);
    const student = compileGraph(graph);
    const table = buildTransferTable(teacher, student, map);
    validateTransfer(table, shapesOf(teacher.specs), shapesOf(student.specs));
    const by = (name: string) => table.rows.find((r) => r.teacher === name)!;
    expect(by('positions.weight')).toMatchObject({ student: 'positions.weight', transform: 'copy' });
    expect(by('layers.1.attn_norm.bias')).toMatchObject({ student: 'layers.1.attn_norm.bias', transform: 'copy' });
    expect(by('layers.0.mlp.up_proj.bias')).toMatchObject({ student: 'layers.0.mlp.up_proj.bias', transform: 'copy' });
    expect(by('layers.0.attn.v_proj.weight')).toMatchObject({
      student: 'layers.0.attn.v_proj.weight',
      transform: 'copy',
    });
    expect(by('layers.0.attn.o_proj.bias')).toMatchObject({ student: null, transform: 'drop' });
  });

  it('Mamba-2 takes q → C, k → B, v → x inside in_proj, the rest of in_proj keeps its init', () => {
    const { table } = setup('mamba2');
    const inProj = table.rows.filter((r) => r.student === 'layers.0.attn.in_proj.weight');
    expect(inProj.map((r) => [r.teacher?.split('.').at(-2) ?? 'init', r.rows])).toEqual([
      ['init', [0, 32]],
      ['v_proj', [32, 64]],
      ['k_proj', [64, 96]],
      ['q_proj', [96, 128]],
      ['init', [128, 132]],
    ]);
  });

  it('survives a JSON round trip (the file a user edits)', () => {
    const { table } = setup('gated_deltanet', 'every:2');
    expect(parseTransferTable(JSON.stringify(table, null, 2), 't.json')).toEqual(table);
    expect(() => parseTransferTable('{"format":"x"}', 't.json')).toThrow(/t\.json: not a transfer table/);
  });

  it('refuses mismatched shapes and unknown names, naming the row, both names and both shapes', () => {
    const { teacher, student, table } = setup('gla');
    const edited: TransferTable = structuredClone(table);
    const k = edited.rows.findIndex((r) => r.teacher === 'layers.1.attn.k_proj.weight');
    edited.rows[k] = { ...edited.rows[k], student: 'layers.1.attn.gk_proj.0.weight' };
    const q = edited.rows.findIndex((r) => r.teacher === 'layers.0.attn.q_proj.weight');
    edited.rows[q] = { ...edited.rows[q], teacher: 'layers.0.attn.query.weight' };
    let error: TransferError | undefined;
    try {
      validateTransfer(edited, shapesOf(teacher.specs), shapesOf(student.specs));
    } catch (e) {
      error = e as TransferError;
    }
    expect(error).toBeInstanceOf(TransferError);
    expect(error!.message).toContain(
      `row ${k} (layers.1.attn.k_proj.weight → layers.1.attn.gk_proj.0.weight, repeat_kv): shapes differ — ` +
        `teacher "layers.1.attn.k_proj.weight" [16, 32] ([32, 32] after repeat_kv ×2), student "layers.1.attn.gk_proj.0.weight" [16, 32]`,
    );
    expect(error!.message).toContain(`row ${q} (layers.0.attn.query.weight → layers.0.attn.q_proj.weight, copy)`);
    expect(error!.message).toContain('unknown teacher parameter "layers.0.attn.query.weight"');
    // Nothing is written when the table is refused.
    const studentValues = randomValues(student, 3);
    const snapshot = Array.from(studentValues.get('layers.0.attn.q_proj.weight')!.data);
    expect(() => applyTransfer(edited, randomValues(teacher, 4), studentValues)).toThrow(TransferError);
    expect(Array.from(studentValues.get('layers.0.attn.q_proj.weight')!.data)).toEqual(snapshot);
  });

  it('refuses two rows writing the same values', () => {
    const { teacher, student, table } = setup('gla');
    const doubled = { ...table, rows: [...table.rows, table.rows.find((r) => r.transform === 'copy')!] };
    expect(() => validateTransfer(doubled, shapesOf(teacher.specs), shapesOf(student.specs))).toThrow(
      /writes the same values of "embeddings.weight" as row 0/,
    );
  });
});
