/**
 * A model over 2 GB loads: its weights (2.2 GB, float32) live in an external data file of its
 * folder, the only way past protobuf's 2 GB limit. The folder is laid out as the loader lays out
 * a version folder on ephemeral storage (model.onnx plus `weights/model.onnx.data`), and the model
 * is loaded by path in its own process, as the loader does for external data over
 * `EXTERNAL_DATA_MEMORY_BYTES` (fetching to ephemeral storage is tested at small scale in
 * hostile-models.test.ts; 2.2 GB through the local S3 server takes minutes). Needs 3 GB of free
 * disk (the data file is sparse, but may not be everywhere); skipped, saying so, with less.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { Tensor } from 'onnxruntime-node';
import { buildOnnxModel } from '../../scripts/lib/onnx/graph-builder.ts';
import { DEFAULT_SESSION_OPTIONS } from '../../src/runtime/model-loader.ts';
import { DEFAULT_SANDBOX_LIMITS, ModelSandbox } from '../../src/runtime/sandbox.ts';

/** 550 million float32 values: 2.2 GB, past protobuf's 2 GiB. */
const COUNT = 550_000_000;
const BYTES = COUNT * 4;
const NEEDED_DISK = 3 * 1024 ** 3;

let work: string;
let skip: string | false = false;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'large-model-'));
  const { bavail, bsize } = await statfs(work);
  const free = bavail * bsize;
  if (free < NEEDED_DISK) {
    skip = `needs ${(NEEDED_DISK / 1024 ** 3).toFixed(0)} GB of free disk, ${(free / 1024 ** 3).toFixed(1)} GB here`;
  }
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

it('serves a model over 2 GB whose weights are external data in its version folder', async (t) => {
  if (skip !== false) {
    t.skip(`skipped: ${skip}`);
    return;
  }
  // y = Gather(w, i): w is 2.2 GB of external data; a few known values are written into a sparse file.
  const model = buildOnnxModel({
    inputs: [{ name: 'i', elemType: 'int64', shape: [1] }],
    outputs: [{ name: 'y', elemType: 'float32', shape: [1] }],
    initializers: [
      {
        name: 'w',
        elemType: 'float32',
        dims: [COUNT],
        data: [],
        externalData: { location: 'weights/model.onnx.data', offset: 0, length: BYTES },
      },
    ],
    nodes: [{ opType: 'Gather', inputs: ['w', 'i'], outputs: ['y'], attributes: { axis: { int: 0 } } }],
  });
  await mkdir(join(work, 'weights'));
  const dataPath = join(work, 'weights', 'model.onnx.data');
  const file = await open(dataPath, 'w');
  await file.truncate(BYTES);
  const last = Buffer.alloc(4);
  last.writeFloatLE(42.5);
  await file.write(last, 0, 4, BYTES - 4);
  await file.close();

  await writeFile(join(work, 'model.onnx'), model);
  const sandbox = await ModelSandbox.open(
    { path: join(work, 'model.onnx') },
    {
      label: "model 'large-external' version 1",
      limits: { ...DEFAULT_SANDBOX_LIMITS, memoryMb: 4096 },
      sessionOptions: DEFAULT_SESSION_OPTIONS,
    },
  );
  try {
    const outputs = await sandbox.run({
      i: new Tensor('int64', BigInt64Array.from([BigInt(COUNT - 1)]), [1]),
    });
    const y = outputs.y;
    assert.ok(y !== undefined);
    assert.deepEqual([...(y.data as Float32Array)], [42.5]);
  } finally {
    await sandbox.release();
  }
});
