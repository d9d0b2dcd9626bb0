// What can be checked of the class-B PyTorch classes without PyTorch (their numerics run on the GPU machine:
// bench/parity/pytorch_parity.py): the model builds each mixer as MIXERS[kind](**config), where config is
// d_model plus every resolved StateLab option, so each constructor must take exactly d_model and the
// family's option names, in StateLab's order with StateLab's defaults (a family that gains an option fails
// here, not only on the GPU machine). The constructor signatures are read from the template text.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mixerFactory } from '../../gpu/nn/mixer.js';
import '../../gpu/nn/mixers/index.js';
import { PYTORCH_CLASSES } from '../../main/export/pytorch-classes.js';
import type { ParamValue } from '../../shared/graph/schema.js';

const CLASS_B = ['linear_attn', 'retnet', 'gla', 'mamba2', 'hgrn2', 'mlstm', 'rwkv6', 'gsa'];

/** A Python literal of a keyword default: numbers, strings, booleans. */
function pythonValue(text: string): ParamValue {
  if (text === 'True' || text === 'False') return text === 'True';
  const quoted = /^"(.*)"$/.exec(text);
  if (quoted) return quoted[1];
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a literal: ${text}`);
  return value;
}

/** The parameters of `class <name>`'s __init__ after self: [name, default or undefined]. */
function constructorOf(source: string, name: string): [string, ParamValue | undefined][] {
  const start = source.indexOf(`class ${name}(nn.Module):`);
  expect(start, `class ${name}`).toBeGreaterThanOrEqual(0);
  const init = /def __init__\(([^)]*)\):/.exec(source.slice(start));
  expect(init, `${name}.__init__`).not.toBeNull();
  const parts = init![1]
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  expect(parts[0]).toBe('self');
  return parts.slice(1).map((p) => {
    const [key, value] = p.split('=');
    return [key, value === undefined ? undefined : pythonValue(value)];
  });
}

describe('class-B PyTorch classes', () => {
  for (const kind of CLASS_B) {
    it(`${kind}: the constructor takes d_model and exactly StateLab's options, with StateLab's defaults`, () => {
      const { file, factory } = PYTORCH_CLASSES[kind];
      const source = readFileSync(new URL(`../../main/export/python/mixers/${file}`, import.meta.url), 'utf8');
      const options = mixerFactory(kind).options.map((o): [string, ParamValue | undefined] => [o.name, o.default]);
      expect(constructorOf(source, factory)).toEqual([['d_model', undefined], ...options]);
    });
  }
});

describe('the RWKV-7 PyTorch class', () => {
  it("rwkv7: the constructor takes d_model and exactly StateLab's options (value_residual, v_low_rank_dim included), with StateLab's defaults", () => {
    const { file, factory } = PYTORCH_CLASSES.rwkv7;
    const source = readFileSync(new URL(`../../main/export/python/mixers/${file}`, import.meta.url), 'utf8');
    const options = mixerFactory('rwkv7').options.map((o): [string, ParamValue | undefined] => [o.name, o.default]);
    expect(options.map(([name]) => name)).toContain('value_residual');
    expect(constructorOf(source, factory)).toEqual([['d_model', undefined], ...options]);
  });
});
