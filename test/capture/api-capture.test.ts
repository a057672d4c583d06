import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildApiCaptures,
  captureSettings,
  type InferCapture,
  isPredictionSampled,
  predictionIds,
  predictionRows,
} from '../../src/capture/api-capture.ts';
import type { InferenceRequest, InferenceResponse, ModelSignature, ResponseOutput } from '../../src/types.ts';

const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const SIGNATURE: ModelSignature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
  ],
};
const TS = new Date('2026-06-01T10:20:30.123Z');

function irisRequest(rows: number[][], id?: string): InferenceRequest {
  return {
    ...(id === undefined ? {} : { id }),
    inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 4], data: rows }],
  };
}

function irisOutputs(labels: number[]): ResponseOutput[] {
  return [
    { name: 'label', datatype: 'INT64', shape: [labels.length], data: labels },
    {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [labels.length, 3],
      data: labels.flatMap((label) => [0, 1, 2].map((k) => (k === label ? 0.9 : 0.05))),
    },
  ];
}

/** As the record is written: JSON (feature maps have no prototype, so `__proto__` is a plain key). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function response(id: string, outputs: ResponseOutput[]): InferenceResponse {
  return { model_name: 'iris', model_version: '2', id, outputs };
}

describe('predictionRows', () => {
  it('splits a tabular [N, F] request whose outputs are batch-major', () => {
    const request = irisRequest([
      [5.1, 3.5, 1.4, 0.2],
      [6.3, 3.3, 6, 2.5],
      [5.9, 3, 5.1, 1.8],
    ]);

    const rows = predictionRows(SIGNATURE, FEATURES, request, irisOutputs([0, 2, 2]));

    assert.deepEqual(rows, { layout: 'matrix', inputName: 'input', featureNames: FEATURES, count: 3 });
  });

  it('an [N, F] model without feature names: its rows are predictions of features f0…', () => {
    const request = irisRequest([
      [5.1, 3.5, 1.4, 0.2],
      [6.3, 3.3, 6, 2.5],
    ]);

    const rows = predictionRows(SIGNATURE, undefined, request, irisOutputs([0, 2]));

    assert.deepEqual(rows?.featureNames, ['f0', 'f1', 'f2', 'f3']);
    assert.equal(rows?.count, 2);
  });

  it('keeps a request whole with non-batch-major outputs; another width is not tabular', () => {
    const request = irisRequest([
      [5.1, 3.5, 1.4, 0.2],
      [6.3, 3.3, 6, 2.5],
    ]);
    const scalar: ResponseOutput[] = [{ name: 'score', datatype: 'FP32', shape: [], data: [1] }];

    // feature_names of another width: not tabular, so each row is a tensor prediction.
    assert.equal(
      predictionRows(SIGNATURE, FEATURES.slice(1), request, irisOutputs([0, 2]))?.layout,
      'tensors',
    );
    assert.equal(predictionRows(SIGNATURE, FEATURES, request, scalar), undefined);
  });

  it('one row is one prediction whatever the outputs look like', () => {
    const scalar: ResponseOutput[] = [{ name: 'score', datatype: 'FP32', shape: [], data: [1] }];

    const rows = predictionRows(SIGNATURE, FEATURES, irisRequest([[5.1, 3.5, 1.4, 0.2]]), scalar);

    assert.equal(rows?.count, 1);
  });
});

describe('predictionIds', () => {
  it('is the request id for one prediction, {id}:{row} from 0 for several', () => {
    assert.deepEqual(predictionIds('req-1', 1), ['req-1']);
    assert.deepEqual(predictionIds('req-1', 3), ['req-1:0', 'req-1:1', 'req-1:2']);
  });
});

describe('captureSettings', () => {
  it('defaults to every prediction; disabled means none whatever the rate', () => {
    assert.deepEqual(captureSettings({}), { enabled: true, sampleRate: 1 });
    assert.deepEqual(captureSettings({ capture: { sample_rate: 0.2 } }), { enabled: true, sampleRate: 0.2 });
    assert.deepEqual(captureSettings({ capture: { sample_rate: 1, enabled: false } }), {
      enabled: false,
      sampleRate: 0,
    });
  });
});

describe('buildApiCaptures', () => {
  it('a model with tensor inputs: one record per row of an [N, …] request, each input summarised', () => {
    const signature: ModelSignature = {
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 2, 2] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 2] }],
    };
    const request: InferenceRequest = {
      id: 'img',
      inputs: [
        { name: 'image', datatype: 'FP32', shape: [2, 1, 2, 2], data: [0, 0, 3, 4, 1, 1, 1, Number.NaN] },
      ],
    };
    const outputs: ResponseOutput[] = [
      { name: 'logits', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
    ];
    const rows = predictionRows(signature, undefined, request, outputs);
    assert.equal(rows?.layout, 'tensors');
    const capture: InferCapture = { request, rows, settings: { enabled: true, sampleRate: 1 } };

    const records = buildApiCaptures({ capture, response: response('img', outputs), inferMs: 1, ts: TS });

    assert.deepEqual(
      records.map((record) => [record.id, record.input_stats, record.outputs[0]?.data]),
      [
        [
          'img:0',
          {
            'image.mean': 1.75,
            'image.std': Math.sqrt(25 / 4 - 1.75 ** 2),
            'image.min': 0,
            'image.max': 4,
            'image.l2': 5,
            'image.nan_share': 0,
          },
          [1, 2],
        ],
        [
          'img:1',
          {
            'image.mean': 1,
            'image.std': 0,
            'image.min': 1,
            'image.max': 1,
            'image.l2': Math.sqrt(3),
            'image.nan_share': 0.25,
          },
          [3, 4],
        ],
      ],
    );
    assert.deepEqual(records[0]?.inputs, [
      { name: 'image', datatype: 'FP32', shape: [1, 1, 2, 2], data: [0, 0, 3, 4] },
    ]);
  });

  it('a model with one input per column: one record per row, each feature from its own input', () => {
    const signature: ModelSignature = {
      inputs: [
        { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
        { name: 'alcohol', datatype: 'FP32', shape: [-1, 1] },
      ],
      outputs: [{ name: 'output_label', datatype: 'INT64', shape: [-1] }],
    };
    const request: InferenceRequest = {
      id: 'r',
      inputs: [
        { name: 'alcohol', datatype: 'FP32', shape: [2, 1], data: [13.3, 12.4] },
        { name: 'city', datatype: 'BYTES', shape: [2, 1], data: ['Asti', 'Genova'] },
      ],
    };
    const outputs: ResponseOutput[] = [{ name: 'output_label', datatype: 'INT64', shape: [2], data: [1, 0] }];
    const rows = predictionRows(signature, undefined, request, outputs);
    assert.deepEqual(rows, {
      layout: 'columns',
      inputName: 'city',
      featureNames: ['city', 'alcohol'],
      count: 2,
    });
    const capture: InferCapture = { request, rows, settings: { enabled: true, sampleRate: 1 } };

    const records = buildApiCaptures({ capture, response: response('r', outputs), inferMs: 1, ts: TS });

    assert.deepEqual(
      plain(records).map((record) => [record.id, record.inputs, record.outputs[0]?.data]),
      [
        ['r:0', { city: 'Asti', alcohol: 13.3 }, [1]],
        ['r:1', { city: 'Genova', alcohol: 12.4 }, [0]],
      ],
    );
    // Inputs of another shape than one value per row are one prediction as a whole.
    const wide: InferenceRequest = {
      inputs: request.inputs.map((input) => ({ ...input, shape: [1, 2] })),
    };
    assert.equal(predictionRows(signature, undefined, wide, outputs), undefined);
  });

  it('one record per row with features by name, the row of each output and its id', () => {
    const request = irisRequest(
      [
        [5.1, 3.5, 1.4, 0.2],
        [6.3, 3.3, 6, 2.5],
      ],
      'req-7',
    );
    const outputs = irisOutputs([0, 2]);
    const capture: InferCapture = {
      request,
      rows: predictionRows(SIGNATURE, FEATURES, request, outputs),
      settings: { enabled: true, sampleRate: 1 },
    };

    const records = buildApiCaptures({ capture, response: response('req-7', outputs), inferMs: 0.5, ts: TS });

    assert.deepEqual(plain(records), [
      {
        schema: 1,
        id: 'req-7:0',
        ts: '2026-06-01T10:20:30.123Z',
        model: 'iris',
        version: '2',
        source: 'api',
        inputs: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [1], data: [0] },
          { name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.9, 0.05, 0.05] },
        ],
        latency_ms: 0.25,
      },
      {
        schema: 1,
        id: 'req-7:1',
        ts: '2026-06-01T10:20:30.123Z',
        model: 'iris',
        version: '2',
        source: 'api',
        inputs: { sepal_length: 6.3, sepal_width: 3.3, petal_length: 6, petal_width: 2.5 },
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [1], data: [2] },
          { name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.05, 0.05, 0.9] },
        ],
        latency_ms: 0.25,
      },
    ]);
  });

  it('a single row keeps the request id and flat data works as nested', () => {
    const request: InferenceRequest = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
    };
    const outputs = irisOutputs([0]);
    const capture: InferCapture = {
      request,
      rows: predictionRows(SIGNATURE, FEATURES, request, outputs),
      settings: { enabled: true, sampleRate: 1 },
    };

    const [record] = buildApiCaptures({ capture, response: response('gen-1', outputs), inferMs: 1, ts: TS });

    assert.equal(record?.id, 'gen-1');
    assert.deepEqual(plain(record?.inputs), {
      sepal_length: 5.1,
      sepal_width: 3.5,
      petal_length: 1.4,
      petal_width: 0.2,
    });
    assert.deepEqual(
      record?.outputs.map((output) => output.shape),
      [[1], [1, 3]],
    );
  });

  it('without feature names: one record for the request, tensors as sent, large ones summarised', () => {
    const image = Array.from({ length: 100 }, (_, i) => i / 100);
    const request: InferenceRequest = {
      id: 'img-1',
      inputs: [
        { name: 'pixels', datatype: 'FP32', shape: [1, 100], data: image },
        { name: 'scale', datatype: 'FP32', shape: [1], data: [2] },
      ],
    };
    const outputs: ResponseOutput[] = [{ name: 'y', datatype: 'FP32', shape: [1, 2], data: [0.1, 0.9] }];
    const capture: InferCapture = { request, settings: { enabled: true, sampleRate: 1 } };

    const records = buildApiCaptures({ capture, response: response('img-1', outputs), inferMs: 2, ts: TS });

    assert.equal(records.length, 1);
    const [record] = records;
    assert.equal(record?.id, 'img-1');
    assert.equal(record?.truncated, true);
    assert.deepEqual(record?.inputs, [
      {
        name: 'pixels',
        datatype: 'FP32',
        shape: [1, 100],
        truncated: true,
        summary: { count: 100, min: 0, max: 0.99, mean: 0.495 },
      },
      { name: 'scale', datatype: 'FP32', shape: [1], data: [2] },
    ]);
    assert.deepEqual(record?.outputs, outputs);
    assert.equal(record?.latency_ms, 2);
  });

  it('captures nothing when the model disables capture or samples at 0', () => {
    const request = irisRequest([[5.1, 3.5, 1.4, 0.2]], 'x');
    const outputs = irisOutputs([0]);
    const rows = predictionRows(SIGNATURE, FEATURES, request, outputs);

    for (const settings of [
      { enabled: false, sampleRate: 1 },
      { enabled: true, sampleRate: 0 },
    ]) {
      const records = buildApiCaptures({
        capture: { request, rows, settings },
        response: response('x', outputs),
        inferMs: 1,
        ts: TS,
      });
      assert.deepEqual(records, [], JSON.stringify(settings));
    }
  });
});

describe('sampling of API predictions', () => {
  it('is deterministic on the prediction id: a retried request is sampled the same way', () => {
    const rows = Array.from({ length: 400 }, (_, i) => [i, i, i, i]);
    const request = irisRequest(rows, 'retry-me');
    const outputs = irisOutputs(rows.map(() => 1));
    const capture: InferCapture = {
      request,
      rows: predictionRows(SIGNATURE, FEATURES, request, outputs),
      settings: { enabled: true, sampleRate: 0.3 },
    };
    const build = () =>
      buildApiCaptures({ capture, response: response('retry-me', outputs), inferMs: 1, ts: TS }).map(
        (record) => record.id,
      );

    const first = build();
    const second = build();

    assert.deepEqual(second, first);
    assert.ok(first.length > 0 && first.length < 400, `${first.length} of 400 kept`);
  });

  it('keeps close to the configured share of predictions', () => {
    for (const rate of [0.1, 0.5, 0.9]) {
      const ids = Array.from({ length: 20_000 }, (_, i) => `req-${i}`);

      const kept = ids.filter((id) => isPredictionSampled(rate, id, 0)).length;

      assert.ok(Math.abs(kept / ids.length - rate) < 0.02, `rate ${rate}: kept ${kept} of ${ids.length}`);
    }
  });

  it('rate 1 keeps every prediction and rate 0 none', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `p-${i}`);

    assert.equal(ids.filter((id) => isPredictionSampled(1, id, 3)).length, 1000);
    assert.equal(ids.filter((id) => isPredictionSampled(0, id, 3)).length, 0);
  });
});
