/** The pure parts of the protocol extensions: classification, Triton model config, statistics, v1 translation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tensor } from 'onnxruntime-node';
import { ServingError } from '../../src/errors.ts';
import { classificationCounts, classifyOutputs } from '../../src/protocol/classification.ts';
import { tritonModelConfig } from '../../src/protocol/model-config-triton.ts';
import { ModelStatistics } from '../../src/protocol/statistics.ts';
import { parseV1Path, translateV1Request, v1Response } from '../../src/protocol/v1.ts';
import type { ModelSignature } from '../../src/types.ts';

const isStatus = (status: number) => (error: unknown) =>
  error instanceof ServingError && error.status === status;

describe('classification', () => {
  it('orders by value in the output type, ties by index, NaN last', () => {
    const tensor = new Tensor('float32', new Float32Array([1, 5, 10, 4, 5, Number.NaN]), [6]);

    const result = classifyOutputs({ y: tensor }, new Map([['y', 6]]), undefined).y as Tensor;

    assert.deepEqual(result.dims, [6]);
    assert.deepEqual(result.data, ['10:2', '5:1', '5:4', '4:3', '1:0', 'NaN:5']);
  });

  it('keeps int64 values exact and classifies per row of a batch', () => {
    const big = 2n ** 60n;
    const tensor = new Tensor('int64', new BigInt64Array([big, 1n, 3n, 2n]), [2, 2]);

    const result = classifyOutputs({ y: tensor }, new Map([['y', 1]]), ['no', 'yes']).y as Tensor;

    assert.deepEqual(result.dims, [2, 1]);
    assert.deepEqual(result.data, [`${big}:0:no`, '3:0:no']);
  });

  it('writes FP32 scores as the shortest decimal of the FP32 value', () => {
    const tensor = new Tensor('float32', new Float32Array([0.1, 0.7]), [2]);

    assert.deepEqual((classifyOutputs({ y: tensor }, new Map([['y', 2]]), undefined).y as Tensor).data, [
      '0.7:1',
      '0.1:0',
    ]);
  });

  it('refuses non-numeric outputs and bad counts; ignores outputs not asked for', () => {
    const strings = new Tensor('string', ['a', 'b'], [2]);

    assert.throws(() => classifyOutputs({ y: strings }, new Map([['y', 1]]), undefined), isStatus(400));
    for (const bad of [0, -1, 1.5, '2', true, 2_000_000]) {
      assert.throws(
        () => classificationCounts([{ name: 'y', parameters: { classification: bad } }]),
        isStatus(400),
      );
    }
    assert.deepEqual(
      [...classificationCounts([{ name: 'y', parameters: { binary_data: true } }, { name: 'z' }])],
      [],
    );
  });
});

describe('tritonModelConfig', () => {
  it('an undeclared rank is dims [-1] and no batch dimension', () => {
    const signature: ModelSignature = {
      inputs: [{ name: 'x', datatype: 'BYTES', shape: null }],
      outputs: [{ name: 'y', datatype: 'FP16', shape: [-1, 2] }],
    };

    const config = tritonModelConfig('m', signature, { default_version: 'stable', aliases: { stable: 2 } });

    assert.equal(config.max_batch_size, 0);
    assert.deepEqual(config.input[0]?.dims, [-1]);
    assert.equal(config.input[0]?.data_type, 'TYPE_STRING');
    assert.deepEqual(config.output[0]?.dims, [-1, 2]);
    assert.deepEqual(config.parameters, {
      default_version: { string_value: 'stable' },
      aliases: { string_value: '{"stable":2}' },
    });
  });
});

describe('ModelStatistics', () => {
  it('accumulates per version and hands out copies', () => {
    const stats = new ModelStatistics();
    const timings = { totalMs: 2, queueMs: 0, inputMs: 0.5, inferMs: 1, outputMs: 0.25, batchSize: 4 };

    stats.recordSuccess('m', '1', timings, 1000);
    stats.recordSuccess('m', '1', timings, 2000);
    stats.recordFailure('m', '2', 0.001);
    const [first] = stats.models({ name: 'm', versions: ['1'], only: true });
    if (first) first.inference_count = 999;
    const all = stats.models();

    assert.deepEqual(
      all.map((stat) => [stat.version, stat.inference_count, stat.execution_count, stat.last_inference]),
      [
        ['1', 8, 2, 2000],
        ['2', 0, 0, 0],
      ],
    );
    assert.deepEqual(all[0]?.inference_stats.compute_infer, { count: 2, ns: 2_000_000 });
    assert.deepEqual(all[1]?.inference_stats.fail, { count: 1, ns: 1000 });
    assert.deepEqual(stats.models({ name: 'other', versions: ['3'] })[0]?.inference_count, 0);
  });
});

describe('v1 translation', () => {
  const tabular: ModelSignature = {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 2] }],
    outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
  };

  it('reads the path', () => {
    assert.deepEqual(parseV1Path('iris:predict'), { name: 'iris' });
    assert.deepEqual(parseV1Path('iris/versions/stable:predict'), { name: 'iris', version: 'stable' });
    for (const bad of ['iris', 'iris:classify', 'iris/2:predict', ':predict', 'a/versions/:predict']) {
      assert.throws(() => parseV1Path(bad), isStatus(404), bad);
    }
  });

  it('rows and feature objects become one [N, F] tensor; columns by feature too', () => {
    const rows = translateV1Request({ instances: [[1, 2], { b: 4, a: 3 }] }, tabular, ['a', 'b']);
    const columns = translateV1Request({ inputs: { a: [1, 3], b: [2, 4] } }, tabular, ['a', 'b']);

    assert.deepEqual(rows.request.inputs[0], {
      name: 'input',
      datatype: 'FP32',
      shape: [2, 2],
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepEqual(columns.request.inputs[0]?.data, rows.request.inputs[0]?.data);
    assert.equal(rows.rows, 2);
  });

  it('answers rows per instance and columns whole; refuses an output without a row per instance', () => {
    const translation = translateV1Request(
      {
        instances: [
          [1, 2],
          [3, 4],
        ],
      },
      tabular,
    );
    const response = {
      model_name: 'm',
      id: 'x',
      outputs: [
        { name: 'label', datatype: 'INT64' as const, shape: [2], data: [1, 0] },
        { name: 'p', datatype: 'FP32' as const, shape: [2, 2], data: [0.1, 0.9, 0.8, 0.2] },
      ],
    };

    assert.deepEqual(v1Response(response, translation), {
      predictions: [
        { label: 1, p: [0.1, 0.9] },
        { label: 0, p: [0.8, 0.2] },
      ],
    });
    assert.deepEqual(v1Response(response, { ...translation, format: 'inputs' }), {
      outputs: {
        label: [1, 0],
        p: [
          [0.1, 0.9],
          [0.8, 0.2],
        ],
      },
    });
    assert.throws(() => v1Response(response, { ...translation, rows: 3 }), isStatus(400));
  });

  it('names what is wrong in a bad request', () => {
    const features = ['a', 'b'];
    const cases: [unknown, string[] | undefined, RegExp][] = [
      [[1], features, /expected a JSON object/],
      [{}, features, /expected 'instances'/],
      [{ instances: [] }, features, /non-empty list/],
      [{ instances: [{ a: 1 }] }, features, /feature 'b' is missing/],
      [{ instances: [{ a: 1, b: 2, c: 3 }] }, features, /unknown feature 'c'/],
      [{ instances: [{ x: 1 }] }, undefined, /expected the value of input 'input'/],
      [{ inputs: { a: [1], b: [1, 2] } }, features, /inputs\.b: 2 values; the first feature has 1/],
      [{ instances: [[1, 2], [3]] }, features, /ragged/],
    ];
    for (const [body, featureNames, message] of cases) {
      assert.throws(
        () => translateV1Request(body, tabular, featureNames),
        (error: unknown) =>
          error instanceof ServingError && error.status === 400 && message.test(error.message),
        JSON.stringify(body),
      );
    }
  });
});
