/**
 * The container image and its manifests (deploy/), checked as far as a machine without a Docker
 * engine allows: the Dockerfile's build stage is reproduced (the files it copies, then its build
 * command) in a temporary folder, the server is started from the resulting runtime tree alone, and
 * the Kubernetes and Knative manifests are parsed and checked against the server's settings.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { buildImageTree, ImageTree } from '../../scripts/build-image-tree.ts';
import { readDriftCheckConfig } from '../../src/config/drift-check-config.ts';
import { readServerConfig } from '../../src/config/server-config.ts';
import { conformanceDir, ROOT } from '../helpers/paths.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { serverEnv, startServerProcess } from '../helpers/server.ts';
import { publishValidated } from '../helpers/validated.ts';

interface Stage {
  name: string;
  from: string;
  instructions: { op: string; args: string }[];
}

/** The stages of a Dockerfile: `FROM … AS name` and the instructions under it (continuations joined). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of logical) {
    const [op = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ name: match?.[2] ?? String(stages.length), from: match?.[1] ?? '', instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const dockerfile = parseDockerfile(await readFile(join(ROOT, 'deploy', 'Dockerfile'), 'utf8'));
const build = dockerfile.find((stage) => stage.name === 'build');
const runtime = dockerfile.at(-1);

describe('Dockerfile', () => {
  it('is multi-stage: a build stage with every dependency, a runtime stage without npm or sources', () => {
    assert.ok(build, 'a stage named build');
    assert.ok(runtime && runtime !== build, 'a separate runtime stage');
    assert.ok(build.instructions.some((i) => i.op === 'RUN' && /^npm ci\b/.test(i.args)));
    assert.ok(
      !runtime.instructions.some((i) => i.op === 'RUN'),
      'the runtime stage runs nothing: no npm install',
    );
    const copies = runtime.instructions.filter((i) => i.op === 'COPY');
    assert.deepEqual(
      copies.map((i) => i.args),
      ['--from=build /out/ /app/'],
    );
    assert.equal(runtime.from.replace(/\$\{NODE_VERSION\}/, '22'), 'node:22-bookworm-slim');
  });

  it('runs as an unprivileged user, with the bundled server as entry point', () => {
    const user = runtime?.instructions.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user !== undefined && user !== 'root' && user !== '0', `USER ${user}`);
    const entry = runtime?.instructions.find((i) => i.op === 'ENTRYPOINT')?.args;
    assert.deepEqual(JSON.parse(entry ?? '[]'), ['node', '/app/server/index.mjs']);
    const exposed = runtime?.instructions.find((i) => i.op === 'EXPOSE')?.args;
    const env = runtime?.instructions.find((i) => i.op === 'ENV')?.args ?? '';
    assert.equal(exposed, /PORT=(\d+)/.exec(env)?.[1]);
  });
});

describe('the image, reproduced without Docker', () => {
  let context: string;
  let tree: ImageTree;
  let s3: TestS3Server;

  before(async () => {
    context = await mkdtemp(join(tmpdir(), 'onnx-serve-image-'));
    // The build stage's COPY instructions, file for file, into an empty folder; `npm ci` is the
    // project's installed node_modules.
    for (const copy of build?.instructions.filter((i) => i.op === 'COPY') ?? []) {
      const parts = copy.args.split(/\s+/);
      const target = parts.pop() ?? '';
      for (const source of parts) {
        const destination =
          target.endsWith('/') && !target.startsWith('./')
            ? join(context, source)
            : join(context, target === './' ? source : target);
        await cp(join(ROOT, source), destination, { recursive: true });
      }
    }
    await symlink(join(ROOT, 'node_modules'), join(context, 'node_modules'));
    const run = build?.instructions.filter((i) => i.op === 'RUN').at(-1)?.args ?? '';
    assert.match(run, /^npx tsx scripts\/build-image-tree\.ts --arch "\$\{TARGETARCH\}" --out \/out$/);
    // The same command, run in the copied context (TARGETARCH: this machine's CPU).
    const { buildImageTree: buildFromContext } = (await import(
      join(context, 'scripts', 'build-image-tree.ts')
    )) as { buildImageTree: typeof buildImageTree };
    tree = await buildFromContext({ arch: process.arch, out: join(context, 'out') });
    s3 = await startS3Server({ bucket: 'image-test' });
  });

  after(async () => {
    await s3?.close();
    if (context) await rm(context, { recursive: true, force: true });
  });

  it('holds the bundle and onnxruntime for one platform only: no dev dependencies, no sources', () => {
    const top = new Set(tree.files.map((file) => file.path.split('/').slice(0, 2).join('/')));
    assert.deepEqual([...top].sort(), [
      'node_modules/onnxruntime-common',
      'node_modules/onnxruntime-node',
      'server/index.mjs',
      // The process each model runs in (src/runtime/sandbox.ts), bundled beside the server.
      'server/sandbox-child.mjs',
    ]);
    const binaries = tree.files.filter((file) => /\/bin\/napi-v\d+\//.test(file.path));
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    assert.ok(binaries.length > 0);
    for (const file of binaries) assert.match(file.path, new RegExp(`/bin/napi-v\\d+/linux/${arch}/`));
    assert.ok(!tree.files.some((file) => file.path.endsWith('.ts')), 'no TypeScript sources');
  });

  it('starts the server from the tree alone and serves a model from the bucket', async () => {
    await publishValidated(s3.store, {
      name: 'relu',
      version: 1,
      model: await readFile(
        join(conformanceDir(), 'onnx-backend', 'simple', 'test_single_relu_model', 'model.onnx'),
      ),
    });
    const server = await startServerProcess(
      { ...serverEnv(s3), PRELOAD_MODELS: 'relu', NODE_ENV: 'production' },
      { entry: join(tree.dir, 'server', 'index.mjs'), cwd: tree.dir, ready: true },
    );
    try {
      const healthz = await fetch(`${server.url}/healthz`);
      const readyz = await fetch(`${server.url}/readyz`);
      const infer = await fetch(`${server.url}/v2/models/relu/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [-1, 2] }] }),
      });

      assert.equal(healthz.status, 200);
      assert.equal(readyz.status, 200);
      assert.equal(infer.status, 200);
      assert.deepEqual(((await infer.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data, [0, 2]);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port?: string | number } };
  livenessProbe?: { httpGet?: { path: string; port?: string | number } };
  startupProbe?: { httpGet?: { path: string; port?: string | number } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
}

async function manifests(file: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(ROOT, 'deploy', file), 'utf8');
  return parseAllDocuments(text).map((document) => {
    assert.deepEqual(document.errors, [], `${file} parses`);
    return document.toJS() as Record<string, unknown>;
  });
}

/** The environment a container would see (values of Secrets stand in as `secret`). */
function envOf(container: Container): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((entry) => [entry.name, entry.value ?? 'secret']));
}

/** The server's routes that probes may use, answered without a store call. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

function checkServerContainer(container: Container, where: string): ReturnType<typeof readServerConfig> {
  assert.deepEqual(container.args, ['serve'], `${where}: runs the server`);
  const config = readServerConfig(envOf(container));
  const port = container.ports?.[0];
  assert.equal(port?.containerPort, config.port, `${where}: the container port is the server's PORT`);
  assert.equal(
    container.readinessProbe?.httpGet?.path,
    '/readyz',
    `${where}: readiness waits for the preloaded models`,
  );
  for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
    if (probe?.httpGet === undefined) continue;
    assert.ok(PROBE_PATHS.has(probe.httpGet.path), `${where}: probe path ${probe.httpGet.path}`);
    if (probe.httpGet.port !== undefined) assert.equal(probe.httpGet.port, port?.name ?? port?.containerPort);
  }
  assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, `${where}: requests`);
  assert.ok(container.resources?.limits?.memory, `${where}: a memory limit`);
  assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
  return config;
}

describe('Kubernetes manifests', () => {
  it('Deployment: probes, port and environment fit the server; the grace period covers the shutdown', async () => {
    const documents = await manifests('kubernetes.yaml');
    const deployment = documents.find((doc) => doc.kind === 'Deployment') as {
      spec: {
        template: {
          spec: {
            terminationGracePeriodSeconds: number;
            securityContext: { runAsNonRoot: boolean };
            containers: Container[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0] as Container;
    const config = checkServerContainer(container, 'Deployment');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const preStop = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(
      pod.terminationGracePeriodSeconds * 1000 > preStop * 1000 + config.shutdownTimeoutMs,
      `grace ${pod.terminationGracePeriodSeconds} s > preStop ${preStop} s + shutdown ${config.shutdownTimeoutMs} ms`,
    );
    assert.ok(config.maxBodyBytes > 6 * 1024 * 1024, 'bodies beyond the Lambda limit');
    assert.ok(config.webhookToken, 'the webhook is on, its token from the Secret');

    const service = documents.find((doc) => doc.kind === 'Service') as {
      spec: { ports: { targetPort: string }[] };
    };
    assert.equal(service.spec.ports[0]?.targetPort, container.ports?.[0]?.name);
  });

  it('CronJob: runs the drift command on the same bucket and store', async () => {
    const documents = await manifests('kubernetes.yaml');
    const cron = documents.find((doc) => doc.kind === 'CronJob') as {
      spec: { schedule: string; jobTemplate: { spec: { template: { spec: { containers: Container[] } } } } };
    };
    const deployment = documents.find((doc) => doc.kind === 'Deployment') as {
      spec: { template: { spec: { containers: Container[] } } };
    };
    const job = cron.spec.jobTemplate.spec.template.spec.containers[0] as Container;
    assert.deepEqual(job.args, ['drift']);
    const drift = readDriftCheckConfig(envOf(job));
    const server = readServerConfig(envOf(deployment.spec.template.spec.containers[0] as Container));
    for (const setting of ['bucket', 'region', 's3Endpoint', 's3ForcePathStyle'] as const) {
      assert.equal(drift[setting], server[setting], setting);
    }
    assert.match(cron.spec.schedule, /^(\S+\s+){4}\S+$/);
  });

  it('Knative Service: the same server settings; its request timeout within the server’s', async () => {
    const [service] = (await manifests('knative-service.yaml')) as {
      apiVersion: string;
      spec: {
        template: { spec: { timeoutSeconds: number; containerConcurrency: number; containers: Container[] } };
      };
    }[];
    assert.equal(service?.apiVersion, 'serving.knative.dev/v1');
    const spec = service?.spec.template.spec;
    const container = spec?.containers[0] as Container;
    const config = checkServerContainer(container, 'Knative');
    assert.ok((spec?.timeoutSeconds ?? 0) * 1000 <= config.requestTimeoutMs);
    assert.ok((spec?.containerConcurrency ?? 0) > 0);
  });
});
