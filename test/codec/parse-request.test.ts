import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  MAX_ELEMENTS,
  MAX_RANK,
  parseInferenceRequest,
  parseJsonBody,
} from '../../src/codec/parse-request.ts';
import { BadRequestError } from '../../src/errors.ts';
import { DATATYPES } from '../../src/types.ts';
import { assertBadRequest, badRequestMessage } from './assertions.ts';

function input(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2], ...overrides };
}

describe('parseInferenceRequest', () => {
  it('returns a typed copy of a full request', () => {
    const body = {
      id: 'req-1',
      parameters: { priority: 1 },
      inputs: [
        input({ parameters: { content_type: 'np' } }),
        input({ name: 'y', datatype: 'BYTES', data: 'a', shape: [] }),
      ],
      outputs: [{ name: 'probabilities', parameters: { binary_data: false } }, { name: 'label' }],
    };

    const request = parseInferenceRequest(body);

    assert.deepEqual(request, {
      id: 'req-1',
      parameters: { priority: 1 },
      inputs: [
        { name: 'x', shape: [1, 2], datatype: 'FP32', parameters: { content_type: 'np' }, data: [1, 2] },
        { name: 'y', shape: [], datatype: 'BYTES', data: 'a' },
      ],
      outputs: [{ name: 'probabilities', parameters: { binary_data: false } }, { name: 'label' }],
    });
  });

  it('leaves out optional fields that are absent or null, and ignores unknown fields', () => {
    const body = {
      id: null,
      parameters: null,
      outputs: null,
      extra: 1,
      inputs: [input({ parameters: null })],
    };

    const request = parseInferenceRequest(body);

    assert.deepEqual(request, { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] });
  });

  it('accepts an empty shape with a single value, and an empty outputs list', () => {
    const request = parseInferenceRequest({ inputs: [input({ shape: [], data: 3 })], outputs: [] });

    assert.deepEqual(request.inputs[0]?.shape, []);
    assert.equal(request.inputs[0]?.data, 3);
    assert.deepEqual(request.outputs, []);
  });

  it('normalises a -0 dimension to 0', () => {
    const request = parseInferenceRequest({ inputs: [input({ shape: [-0, 2], data: [] })] });

    assert.ok(Object.is(request.inputs[0]?.shape[0], 0));
  });

  const invalid: [string, unknown, string | RegExp][] = [
    ['a non-object body', [1], 'request body: expected a JSON object, got array'],
    ['a null body', null, 'request body: expected a JSON object, got null'],
    ['a string body', 'hello', "request body: expected a JSON object, got 'hello'"],
    ['a numeric id', { id: 7, inputs: [input()] }, 'id: expected a string, got 7'],
    ['array parameters', { parameters: [], inputs: [input()] }, 'parameters: expected an object, got array'],
    ['missing inputs', {}, 'inputs: required, a non-empty array of input tensors'],
    [
      'empty inputs',
      { inputs: [] },
      'inputs: expected a non-empty array of input tensors, got an empty array',
    ],
    [
      'object inputs',
      { inputs: { x: 1 } },
      'inputs: expected a non-empty array of input tensors, got object',
    ],
    ['a non-object input', { inputs: [input(), 5] }, 'inputs[1]: expected an object, got 5'],
    [
      'a missing name',
      { inputs: [input({ name: undefined })] },
      'inputs[0].name: expected a non-empty string, got nothing',
    ],
    [
      'an empty name',
      { inputs: [input({ name: '' })] },
      "inputs[0].name: expected a non-empty string, got ''",
    ],
    [
      'a numeric name',
      { inputs: [input({ name: 3 })] },
      'inputs[0].name: expected a non-empty string, got 3',
    ],
    [
      'a duplicate name',
      { inputs: [input(), input({ name: 'y' }), input()] },
      "inputs[2]: duplicate input name 'x'",
    ],
    [
      'a missing shape',
      { inputs: [input({ shape: undefined })] },
      "input 'x': shape expected an array of integers, got nothing",
    ],
    [
      'a string shape',
      { inputs: [input({ shape: '1,2' })] },
      "input 'x': shape expected an array of integers, got '1,2'",
    ],
    [
      'a negative dimension',
      { inputs: [input({ shape: [1, -3] })] },
      "input 'x': shape[1] expected a non-negative integer, got -3",
    ],
    [
      'a fractional dimension',
      { inputs: [input({ shape: [1.5] })] },
      "input 'x': shape[0] expected a non-negative integer, got 1.5",
    ],
    [
      'a string dimension',
      { inputs: [input({ shape: ['2'] })] },
      "input 'x': shape[0] expected a non-negative integer, got '2'",
    ],
    [
      'a null dimension',
      { inputs: [input({ shape: [null] })] },
      "input 'x': shape[0] expected a non-negative integer, got null",
    ],
    [
      'an unsafe dimension',
      { inputs: [input({ shape: [2 ** 53] })] },
      "input 'x': shape[0] expected a non-negative integer, got 9007199254740992",
    ],
    [
      'a rank beyond the maximum',
      { inputs: [input({ shape: new Array(MAX_RANK + 1).fill(1) })] },
      `input 'x': shape has rank ${MAX_RANK + 1}, more than the maximum ${MAX_RANK}`,
    ],
    [
      'a dimension beyond the maximum',
      { inputs: [input({ shape: [0, MAX_ELEMENTS + 1] })] },
      `input 'x': shape [0,${MAX_ELEMENTS + 1}] has more than the maximum ${MAX_ELEMENTS} elements`,
    ],
    [
      'a product beyond the maximum',
      { inputs: [input({ shape: [65536, 65536, 2] })] },
      `input 'x': shape [65536,65536,2] has more than the maximum ${MAX_ELEMENTS} elements`,
    ],
    [
      'a product that overflows doubles',
      { inputs: [input({ shape: new Array(20).fill(2 ** 40) })] },
      /^input 'x': shape \[1099511627776,.*\] has more than the maximum/,
    ],
    [
      'an unknown datatype',
      { inputs: [input({ datatype: 'FLOAT32' })] },
      `input 'x': datatype expected one of ${DATATYPES.join(', ')}, got 'FLOAT32'`,
    ],
    [
      'a lower-case datatype',
      { inputs: [input({ datatype: 'fp32' })] },
      /^input 'x': datatype expected one of BOOL, UINT8, .*, got 'fp32'$/,
    ],
    [
      'a missing datatype',
      { inputs: [input({ datatype: undefined })] },
      /^input 'x': datatype expected one of .*, got nothing$/,
    ],
    [
      'missing data',
      { inputs: [input({ data: undefined })] },
      "input 'x': data is required (or parameters.binary_data_size for binary data)",
    ],
    [
      'both data and binary data',
      { inputs: [input({ parameters: { binary_data_size: 8 } })] },
      "input 'x': give either data or parameters.binary_data_size, not both",
    ],
    [
      'a negative binary_data_size',
      { inputs: [input({ data: undefined, parameters: { binary_data_size: -8 } })] },
      "input 'x': parameters.binary_data_size expected a non-negative integer (bytes), got -8",
    ],
    [
      'a string binary_data_size',
      { inputs: [input({ data: undefined, parameters: { binary_data_size: '8' } })] },
      "input 'x': parameters.binary_data_size expected a non-negative integer (bytes), got '8'",
    ],
    [
      'null data',
      { inputs: [input({ data: null })] },
      "input 'x': data expected an array of values, got null",
    ],
    [
      'object data',
      { inputs: [input({ data: { 0: 1 } })] },
      "input 'x': data expected an array of values, got object",
    ],
    [
      'string input parameters',
      { inputs: [input({ parameters: 'p' })] },
      "input 'x': parameters expected an object, got 'p'",
    ],
    [
      'object outputs',
      { inputs: [input()], outputs: { name: 'y' } },
      'outputs: expected an array of requested outputs, got object',
    ],
    ['a string output', { inputs: [input()], outputs: ['y'] }, "outputs[0]: expected an object, got 'y'"],
    [
      'an output without a name',
      { inputs: [input()], outputs: [{}] },
      'outputs[0].name: expected a non-empty string, got nothing',
    ],
    [
      'a duplicate output',
      { inputs: [input()], outputs: [{ name: 'y' }, { name: 'y' }] },
      "outputs[1]: duplicate output name 'y'",
    ],
    [
      'array output parameters',
      { inputs: [input()], outputs: [{ name: 'y', parameters: [] }] },
      'outputs[0].parameters: expected an object, got array',
    ],
  ];
  for (const [title, body, message] of invalid) {
    it(`rejects ${title} with 400`, () => {
      assertBadRequest(() => parseInferenceRequest(body), message);
    });
  }

  it('cuts long client strings in messages', () => {
    const name = `n${'x'.repeat(10_000)}`;

    const message = badRequestMessage(() =>
      parseInferenceRequest({ inputs: [input({ name, datatype: 'y'.repeat(10_000) })] }),
    );

    assert.ok(message.length < 400, `message of ${message.length} characters`);
    assert.match(message, /^input 'nx{63}…': datatype expected one of .*, got 'y{64}…'$/);
  });

  it('ignores inherited properties and keeps __proto__ keys inert', () => {
    const text = [
      '{"__proto__": {"inputs": [{"name": "evil", "shape": [1], "datatype": "FP32", "data": [9]}]},',
      ' "inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "__proto__": {"polluted": true}}],',
      ' "parameters": {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}}',
    ].join('');
    const onlyProto =
      '{"__proto__": {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}}';
    const inherited = Object.create({ inputs: [input()] }) as Record<string, unknown>;

    const request = parseInferenceRequest(parseJsonBody(text));

    assert.equal(Object.getPrototypeOf(request), Object.prototype);
    assert.equal(Object.getPrototypeOf(request.inputs[0]), Object.prototype);
    assert.deepEqual(request.inputs[0]?.data, [1]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(request.parameters), Object.prototype);
    assert.deepEqual(
      request.inputs.map((tensor) => tensor.name),
      ['x'],
    );
    assertBadRequest(
      () => parseInferenceRequest(inherited),
      'inputs: required, a non-empty array of input tensors',
    );
    assertBadRequest(
      () => parseInferenceRequest(parseJsonBody(onlyProto)),
      'inputs: required, a non-empty array of input tensors',
    );
  });

  it('either accepts a garbage body or throws a BadRequestError', () => {
    const field = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const garbageInput = fc.record(
      {
        name: field,
        shape: fc.oneof(field, fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 4 })),
        datatype: fc.oneof(field, fc.constantFrom(...DATATYPES)),
        data: field,
        parameters: field,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          id: field,
          parameters: field,
          inputs: fc.oneof(field, fc.array(garbageInput, { maxLength: 3 })),
          outputs: field,
        },
        { requiredKeys: [] },
      ),
    );

    fc.assert(
      fc.property(body, (value) => {
        try {
          const request = parseInferenceRequest(value);
          assert.ok(request.inputs.length > 0);
        } catch (error) {
          assert.ok(error instanceof BadRequestError, String(error));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
