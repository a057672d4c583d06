import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  featureFromJson,
  featureFromText,
  RowError,
  tabularInputs,
  tabularSchema,
} from '../../src/batch/tabular.ts';
import type { ModelSignature } from '../../src/types.ts';

const signature = (shape: number[] | null, inputs = 1): ModelSignature => ({
  inputs: Array.from({ length: inputs }, (_, i) => ({ name: `in${i}`, datatype: 'FP32' as const, shape })),
  outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }],
});

describe('tabular schema', () => {
  it('one [N, F] input with feature names: batched runs; a fixed batch dimension bounds them', () => {
    assert.deepEqual(tabularSchema('m', signature([-1, 2]), ['a', 'b']).schema, {
      layout: 'matrix',
      inputName: 'in0',
      datatypes: ['FP32', 'FP32'],
      featureNames: ['a', 'b'],
      ranks: [],
      rowsPerRun: Number.POSITIVE_INFINITY,
      namesFrom: 'config',
    });
    assert.equal(tabularSchema('m', signature([1, -1]), ['a', 'b']).schema?.rowsPerRun, 1);
  });

  it('one [N, F] input without feature names: f0…f{F-1} when F is fixed', () => {
    const { schema } = tabularSchema('m', signature([-1, 3]), undefined);
    assert.deepEqual(schema?.featureNames, ['f0', 'f1', 'f2']);
    assert.equal(schema?.namesFrom, 'default');
    assert.equal(schema?.layout, 'matrix');
  });

  it('one [N, 1] or [N] input per column: one feature per input, named after it, each with its datatype', () => {
    const columns: ModelSignature = {
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
        { name: 'age', datatype: 'INT64', shape: [-1] },
        { name: 'income', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'out', datatype: 'FP32', shape: [-1] }],
    };
    const { schema } = tabularSchema('m', columns, undefined);
    assert.ok(schema);
    assert.deepEqual(schema, {
      layout: 'columns',
      inputName: 'city',
      featureNames: ['city', 'age', 'income'],
      datatypes: ['BYTES', 'INT64', 'FP32'],
      ranks: [2, 1, 2],
      rowsPerRun: Number.POSITIVE_INFINITY,
      namesFrom: 'inputs',
    });
    assert.deepEqual(tabularInputs(schema, ['Asti', 30, 1.5, 'Genova', 41, 2.5], 2), [
      { name: 'city', datatype: 'BYTES', shape: [2, 1], data: ['Asti', 'Genova'] },
      { name: 'age', datatype: 'INT64', shape: [2], data: [30, 41] },
      { name: 'income', datatype: 'FP32', shape: [2, 1], data: [1.5, 2.5] },
    ]);
    // A single column input without feature_names is named after its input too.
    assert.deepEqual(tabularSchema('m', signature([-1, 1]), undefined).schema?.featureNames, ['in0']);
  });

  it('says why a model is not tabular', () => {
    assert.match(tabularSchema('m', signature([-1, -1]), undefined).reason ?? '', /no feature_names/);
    assert.match(tabularSchema('m', signature(null), undefined).reason ?? '', /no feature_names.*any rank/);
    assert.match(
      tabularSchema('m', signature([-1, 2], 2), ['a', 'b']).reason ?? '',
      /takes 2 inputs and 'in0' has shape \[-1,2\].*one \[N, 1\] \(or \[N\]\) input per feature/,
    );
    assert.match(tabularSchema('m', signature([-1, 3]), ['a', 'b']).reason ?? '', /shape \[-1,3\].*\[N, 2\]/);
    assert.match(tabularSchema('m', signature([-1, 2, 2]), ['a', 'b']).reason ?? '', /need \[N, 2\]/);
  });
});

describe('feature values', () => {
  it('from CSV text, by datatype', () => {
    assert.equal(featureFromText(' 1.5e3 ', 'FP32', 'x'), 1500);
    assert.equal(featureFromText('-7', 'INT8', 'x'), -7);
    assert.equal(featureFromText('9223372036854775807', 'INT64', 'x'), '9223372036854775807');
    assert.equal(featureFromText('TRUE', 'BOOL', 'x'), true);
    assert.equal(featureFromText('0', 'BOOL', 'x'), false);
    assert.equal(featureFromText(' as is ', 'BYTES', 'x'), ' as is ');
  });

  it('from CSV text: empty, not a number, not an integer, not a boolean are row errors naming the feature', () => {
    const cases: [string, Parameters<typeof featureFromText>[1], RegExp][] = [
      ['', 'FP32', /feature 'x': value is empty/],
      ['  ', 'FP64', /value is empty/],
      ['abc', 'FP32', /expected a number, got 'abc'/],
      ['NaN', 'FP32', /expected a number, got 'NaN'/],
      ['1.5', 'INT32', /expected an integer, got '1.5'/],
      ['yes', 'BOOL', /expected true or false, got 'yes'/],
    ];
    for (const [text, datatype, message] of cases) {
      assert.throws(
        () => featureFromText(text, datatype, 'x'),
        (error: unknown) => {
          assert.ok(error instanceof RowError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  it('from JSON values: types are not converted', () => {
    assert.equal(featureFromJson(2.5, 'FP32', 'x'), 2.5);
    assert.equal(featureFromJson('12345678901234567890', 'UINT64', 'x'), '12345678901234567890');
    assert.throws(() => featureFromJson('2.5', 'FP32', 'x'), /feature 'x': expected a number, got '2.5'/);
    assert.throws(() => featureFromJson(undefined, 'FP32', 'x'), /feature 'x' is missing/);
    assert.throws(() => featureFromJson(null, 'FP32', 'x'), /expected a number, got null/);
    assert.throws(() => featureFromJson(1, 'BOOL', 'x'), /expected true or false/);
  });
});
