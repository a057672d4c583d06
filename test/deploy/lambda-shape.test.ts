/**
 * The built http bundle and the onnxruntime layer, run the way Lambda runs them, for both
 * architectures: inside a mount namespace where the bundle is read-only at /var/task (the working
 * directory), the layer read-only at /opt (found through NODE_PATH=/opt/nodejs/node_modules),
 * /tmp an empty writable tmpfs, the root file system read-only, no HOME, and the kernel's CPU lists
 * (/sys/devices/system/cpu) absent, as on some Lambda hosts. x86-64 runs on this machine's Node,
 * arm64 on the Lambda runtime's arm64 Node under qemu (scripts/deploy/arm64-emulator.ts). Health,
 * metadata and an inference of each demo model must agree between the two.
 *
 * Needs root (unshare -m) and, for arm64, the emulator; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildHandlers } from '../../scripts/build.ts';
import { buildLayer, hostArchitecture, layerRunner } from '../../scripts/build-layer.ts';
import { buildDemoModels, DEMO_MODEL_NAMES, trainDemoModel } from '../../scripts/demo-models.ts';
import { arm64EmulationUnavailable, type NodeRunner } from '../../scripts/deploy/arm64-emulator.ts';
import type { LambdaArchitecture } from '../../scripts/deploy/budgets.ts';
import { validateModel } from '../../src/validation/validate-model.ts';
import { ROOT } from '../helpers/paths.ts';
import { startS3Server, TEST_CREDENTIALS, TEST_REGION, type TestS3Server } from '../helpers/s3-server.ts';

/** Sets up the namespace, then execs the runner; arguments: task dir, layer dir, then the command. */
const NAMESPACE_SCRIPT = `
set -e
task="$1"; layer="$2"; shift 2
mount --make-rprivate /
mount -t tmpfs -o size=1m tmpfs /var
mkdir /var/task
mount --bind "$task" /var/task
mount -o remount,bind,ro /var/task
mount --bind "$layer" /opt
mount -o remount,bind,ro /opt
mount -t tmpfs tmpfs /sys/devices/system/cpu
mount -t tmpfs -o size=64m tmpfs /tmp
mount -o remount,bind,ro /
cd /var/task
exec "$@"
`;

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface ModelAnswers {
  metadata: { status: number; body: unknown };
  inference: { status: number; body: { outputs?: Output[] } };
}
interface DriverResult {
  shape: Record<string, boolean | string | null>;
  cwd: string;
  arch: string;
  node: string;
  ready: { status: number; body: unknown };
  models: Record<string, ModelAnswers>;
}

/** What the driver must find: only /tmp writable, no CPU lists, no HOME. */
const LAMBDA_SHAPE = {
  cpuLists: false,
  home: null,
  taskWritable: false,
  optWritable: false,
  rootWritable: false,
  tmpWritable: true,
};

const host = hostArchitecture();
const unavailable =
  host !== 'x86_64'
    ? `runs on linux/x64, this machine is ${process.platform}/${process.arch}`
    : spawnSync('unshare', ['-m', 'true'], { stdio: 'ignore' }).status !== 0
      ? 'cannot create a mount namespace (unshare -m needs root)'
      : undefined;

let s3: TestS3Server;
let work = '';
let task = '';
const rows: { name: string; row: number[] }[] = [];

before(async () => {
  if (unavailable !== undefined) return;
  s3 = await startS3Server({ bucket: 'lambda-shape' });
  work = await mkdtemp(join(tmpdir(), 'onnx-serve-lambda-shape-'));
  const models = join(work, 'models');
  await buildDemoModels(models);
  const published: string[] = [];
  for (const entry of await readdir(models, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/(model\.onnx|config\.json)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const key = `models/${relative(models, path).split('\\').join('/')}`;
    await s3.store.put(key, await readFile(path));
    if (entry.name === 'model.onnx') published.push(key);
  }
  // Versions are served once validated: each gets its verdict, as the validation function gives it.
  for (const key of published) await validateModel(s3.store, key);
  for (const name of DEMO_MODEL_NAMES)
    rows.push({ name, row: (await trainDemoModel(name)).holdoutRows[0] ?? [] });
  if (!existsSync(join(ROOT, 'dist/http/index.mjs'))) await buildHandlers();
  task = join(work, 'task');
  await mkdir(task);
  // The whole bundle folder, as the function's zip holds it (the model process entry sits beside index.mjs).
  for (const file of await readdir(join(ROOT, 'dist/http'))) {
    await copyFile(join(ROOT, 'dist/http', file), join(task, file));
  }
  await copyFile(join(ROOT, 'test/deploy/fixtures/lambda-driver.mjs'), join(task, 'driver.mjs'));
});

after(async () => {
  await s3?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function runShaped(architecture: LambdaArchitecture, runner: NodeRunner): Promise<DriverResult> {
  const layer = await buildLayer({ architecture });
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    NODE_PATH: '/opt/nodejs/node_modules',
    LAMBDA_TASK_ROOT: '/var/task',
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    MODEL_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    POWERTOOLS_SERVICE_NAME: 'onnx-serve',
    POWERTOOLS_METRICS_NAMESPACE: 'OnnxServeTest',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    CAPTURE_ENABLED: 'false',
    DRIVER_MODELS: JSON.stringify(rows),
    // Under qemu-user the model's own process (a second emulated Node started by the first) cannot
    // start without a binfmt registration, so the emulated run keeps sessions in its process; the
    // host's run covers the model process.
    ...(runner.command === 'unshare' ? { INFERENCE_ISOLATION: 'none' } : {}),
  };
  const inner = ['sh', '-c', NAMESPACE_SCRIPT, 'sh', task, layer.dir];
  // The emulated runner is `unshare -m -- sh -c <bind cpuinfo; exec "$@"> <cpuinfo>` and then
  // `qemu -cpu neoverse-n1 -L <sysroot> <node>`: the Lambda shape goes between the two, in the
  // same namespace. This machine's Node gets a namespace of its own.
  const [command, args] =
    runner.command === 'unshare'
      ? [runner.command, [...runner.args.slice(0, -6), ...inner, ...runner.args.slice(-6)]]
      : ['unshare', ['-m', '--', ...inner, runner.command, ...runner.args]];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(command, [...args, 'driver.mjs'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${runner.label} exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
  const line = output.split('\n').find((text) => text.startsWith('RESULT '));
  assert.ok(line, `no RESULT line in: ${output.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as DriverResult;
}

const results = new Map<LambdaArchitecture, DriverResult>();

describe('the http bundle and the layer in a Lambda-shaped mount namespace', {
  skip: unavailable ?? false,
}, () => {
  it('x86_64: ready, metadata and an inference of every demo model', async () => {
    const result = await runShaped('x86_64', {
      command: process.execPath,
      args: [],
      label: 'node',
      dispose: async () => {},
    });
    results.set('x86_64', result);

    assert.equal(result.cwd, '/var/task');
    assert.deepEqual(result.shape, LAMBDA_SHAPE);
    assert.equal(result.arch, 'x64');
    assert.equal(result.ready.status, 200);
    for (const { name } of rows) {
      assert.equal(
        result.models[name]?.metadata.status,
        200,
        `${name}: ${JSON.stringify(result.models[name]?.metadata.body)}`,
      );
      assert.equal(
        result.models[name]?.inference.status,
        200,
        JSON.stringify(result.models[name]?.inference.body),
      );
    }
  });

  it('arm64 (emulated): the same answers as x86-64', {
    skip: arm64EmulationUnavailable() ?? false,
  }, async () => {
    const runner = await layerRunner('arm64');
    assert.ok('runner' in runner, 'skipped' in runner ? runner.skipped : '');
    let result: DriverResult;
    try {
      result = await runShaped('arm64', runner.runner);
    } finally {
      await runner.runner.dispose();
    }
    const reference = results.get('x86_64');
    assert.ok(reference, 'the x86_64 run goes first');

    assert.equal(result.arch, 'arm64');
    assert.equal(result.cwd, '/var/task');
    assert.deepEqual(result.shape, LAMBDA_SHAPE);
    assert.deepEqual(result.ready, reference.ready);
    for (const { name } of rows) {
      const ours: ModelAnswers | undefined = result.models[name];
      const theirs: ModelAnswers | undefined = reference.models[name];
      assert.deepEqual(ours?.metadata, theirs?.metadata, name);
      assert.equal(ours?.inference.status, 200, name);
      const a: Output[] = ours?.inference.body.outputs ?? [];
      const b: Output[] = theirs?.inference.body.outputs ?? [];
      assert.ok(a.length > 0, name);
      assert.deepEqual(
        a.map(({ name: output, datatype, shape }) => [output, datatype, shape]),
        b.map(({ name: output, datatype, shape }) => [output, datatype, shape]),
        name,
      );
      a.forEach((output, i) => {
        output.data.forEach((value, k) => {
          const expected = b[i]?.data[k];
          if (typeof value === 'number' && typeof expected === 'number' && !Number.isInteger(expected)) {
            assert.ok(
              Math.abs(value - expected) <= 1e-5 + 1e-4 * Math.abs(expected),
              `${name} ${output.name}[${k}]`,
            );
          } else {
            assert.deepEqual(value, expected, `${name} ${output.name}[${k}]`);
          }
        });
      });
    }
  });
});
