/**
 * Every ONNX backend case of the conformance data, published into the local stack's model
 * repository and run through the HTTP inference API, once as JSON and once with every input and
 * output as binary tensor data; outputs compared with the expected tensors, every JSON response
 * validated against the protocol's schemas.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeTensorProto } from '../../scripts/lib/onnx/tensor-proto.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { publishModel } from '../../src/repository/publish.ts';
import type { TensorElement } from '../../src/types.ts';
import { inferBinary } from '../helpers/binary-tensors.ts';
import { requestJson } from '../helpers/http.ts';
import { type RunningStack, startStack, waitForVerdict } from '../helpers/local-stack.ts';
import { assertOip } from '../helpers/oip-schema.ts';
import { conformanceDir } from '../helpers/paths.ts';

const RTOL = 1e-3;
const ATOL = 1e-5;

let stack: RunningStack;
let store: ObjectStore;

before(async () => {
  stack = await startStack({ DEMO_MODELS: 'false' });
  store = stack.store;
});

after(async () => {
  await stack?.stop();
});

interface Tensor {
  name?: string;
  shape: number[];
  datatype: string;
  data: TensorElement[];
}

interface ModelMetadata {
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

/** JSON has no bigint: safe integers as numbers, the rest as decimal strings. */
function jsonData(data: TensorElement[]): (number | string | boolean)[] {
  return data.map((value) =>
    typeof value === 'bigint'
      ? Number.isSafeInteger(Number(value))
        ? Number(value)
        : value.toString()
      : value,
  );
}

async function publishAndDescribe(name: string, modelFile: string): Promise<ModelMetadata> {
  await publishModel(store, { name, version: 1, model: await readFile(modelFile) });
  await waitForVerdict(store, name, 1);
  const metadata = await requestJson(`${stack.apiUrl}/v2/models/${name}`);
  assert.equal(metadata.status, 200, metadata.text);
  assertOip('metadata_model_response', metadata.body);
  return metadata.body as ModelMetadata;
}

async function inferAndCompare(name: string, inputs: Tensor[], expected: Tensor[], metadata: ModelMetadata) {
  const response = await requestJson(`${stack.apiUrl}/v2/models/${name}/infer`, {
    body: {
      id: `conformance-${name}`,
      inputs: inputs.map((input) => ({ ...input, data: jsonData(input.data) })),
    },
  });
  assert.equal(response.status, 200, response.text.slice(0, 500));
  assertOip('inference_response', response.body);
  compareOutputs((response.body as { outputs: Tensor[] }).outputs, expected, metadata, 'json');

  // The same inference with every input and output as binary tensor data.
  const binary = await inferBinary(
    `${stack.apiUrl}/v2/models/${name}/infer`,
    inputs.map((input, index) => ({ ...input, name: input.name ?? metadata.inputs[index]?.name ?? '' })),
  );
  assert.equal(binary.status, 200, binary.text.slice(0, 500));
  assert.equal(binary.headers.get('content-type'), 'application/octet-stream');
  for (const output of binary.json.outputs as { data?: unknown; parameters?: Record<string, unknown> }[]) {
    assert.equal(output.data, undefined);
    assert.equal(typeof output.parameters?.binary_data_size, 'number');
  }
  compareOutputs(binary.outputs as Tensor[], expected, metadata, 'binary');
}

function compareOutputs(
  outputs: Tensor[],
  expected: Tensor[],
  metadata: ModelMetadata,
  path: 'json' | 'binary',
) {
  expected.forEach((want, index) => {
    const outputName = metadata.outputs[index]?.name;
    const got = outputs.find((output) => output.name === outputName);
    assert.ok(got, `output ${outputName} is in the response`);
    assert.equal(got.datatype, want.datatype, `${outputName} datatype`);
    assert.deepEqual(got.shape, want.shape, `${outputName} shape`);
    assert.equal(got.data.length, want.data.length, `${outputName} element count`);
    for (let i = 0; i < want.data.length; i++) {
      const wanted = want.data[i];
      const actual: TensorElement | undefined = got.data[i];
      if (typeof wanted === 'number' && !Number.isFinite(wanted)) {
        // JSON has no NaN or Infinity: the API writes them as the strings "NaN", "Infinity", "-Infinity".
        if (path === 'json') assert.equal(actual, String(wanted), `${outputName}[${i}]`);
        else assert.equal(String(actual), String(wanted), `${outputName}[${i}]`);
      } else if (typeof wanted === 'number' && want.datatype.startsWith('FP')) {
        assert.equal(typeof actual, 'number', `${outputName}[${i}] is a number`);
        const difference = Math.abs((actual as number) - wanted);
        assert.ok(
          difference <= ATOL + RTOL * Math.abs(wanted),
          `${outputName}[${i}]: got ${actual}, expected ${wanted}`,
        );
      } else {
        assert.equal(String(actual), String(wanted), `${outputName}[${i}]`);
      }
    }
  });
}

/** Cases whose inputs no generated smoke input satisfies: refused by validation (fail closed). */
const REFUSED_BY_SMOKE_RUN = new Set(['test_sequence_model8']);

for (const group of ['simple', 'pytorch-operator']) {
  describe(`conformance: onnx-backend/${group}`, async () => {
    const base = join(conformanceDir(), 'onnx-backend', group);
    for (const caseName of (await readdir(base)).sort()) {
      it(caseName, async () => {
        const dir = join(base, caseName);
        const dataDir = join(dir, 'test_data_set_0');
        const files = await readdir(dataDir);
        const inputFiles = files.filter((file) => /^input_\d+\.pb$/.test(file)).sort(byIndex);
        const outputFiles = files.filter((file) => /^output_\d+\.pb$/.test(file)).sort(byIndex);
        const name = `conf-${caseName}`;
        if (REFUSED_BY_SMOKE_RUN.has(caseName)) {
          await publishModel(store, { name, version: 1, model: await readFile(join(dir, 'model.onnx')) });
          await waitForVerdict(store, name, 1);
          // Its inputs are coupled (split sizes must add up to the input's length): the generated
          // smoke inputs cannot satisfy that, validation refuses it, and a version is served only
          // when validated. The refusal names the reason.
          const response = await requestJson(`${stack.apiUrl}/v2/models/${name}/ready`);
          assert.equal(response.status, 422, response.text);
          assert.match(response.text, /failed validation: smoke run failed/);
          return;
        }
        const metadata = await publishAndDescribe(name, join(dir, 'model.onnx'));

        const inputs = await Promise.all(
          inputFiles.map(async (file, index) => {
            const tensor = decodeTensorProto(await readFile(join(dataDir, file)));
            return {
              name: metadata.inputs[index]?.name ?? '',
              shape: tensor.dims,
              datatype: tensor.datatype,
              data: tensor.data,
            };
          }),
        );
        const expected = await Promise.all(
          outputFiles.map(async (file) => {
            const tensor = decodeTensorProto(await readFile(join(dataDir, file)));
            return { shape: tensor.dims, datatype: tensor.datatype, data: tensor.data };
          }),
        );

        await inferAndCompare(name, inputs, expected, metadata);
      });
    }
  });
}

describe('conformance: onnx-backend/light (full CNN graphs)', async () => {
  const base = join(conformanceDir(), 'onnx-backend', 'light');
  const models = (await readdir(base)).filter((file) => file.endsWith('.onnx')).sort();
  for (const file of models) {
    const caseName = file.replace(/\.onnx$/, '');
    it(caseName, async () => {
      const name = `conf-${caseName.replace(/_/g, '-')}`;
      const metadata = await publishAndDescribe(name, join(base, file));
      const input = metadata.inputs[0];
      assert.ok(input);
      const shape = input.shape.map((dim) => (dim === -1 ? 1 : dim));
      const count = shape.reduce((a, b) => a * b, 1);
      const data = Array.from({ length: count }, (_, i) => Math.fround(i / count));
      const expected = decodeTensorProto(await readFile(join(base, `${caseName}_output_0.pb`)));

      await inferAndCompare(
        name,
        [{ name: input.name, shape, datatype: input.datatype, data }],
        [{ shape: expected.dims, datatype: expected.datatype, data: expected.data }],
        metadata,
      );
    });
  }
});

function byIndex(a: string, b: string): number {
  return Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]);
}
