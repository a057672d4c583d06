/**
 * Packages the service offline: builds the handler bundles and the onnxruntime layer for the
 * chosen architecture, checks them against their budgets, and runs `serverless package` (osls)
 * with placeholder credentials against a loopback stub of the two AWS calls it makes
 * (scripts/deploy/aws-stub.ts). Leaves the CloudFormation template and the zips in `.serverless/`
 * (or `--package <dir>`). No AWS account and no network needed.
 *
 *   npm run package
 *   npm run package -- --stage prod --param="architecture=x86_64" --param="authorizer=jwt" ...
 *
 * With `--deploy`, it builds the same way and runs `serverless deploy` with your own AWS
 * credentials instead (docs/deploy.md).
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { devNull } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { buildHandlers } from './build.ts';
import {
  assertLayerLinksOnLambda,
  assertLayerWithinBudget,
  buildLayer,
  type LayerBuild,
} from './build-layer.ts';
import { OFFLINE_CREDENTIALS, startAwsStub } from './deploy/aws-stub.ts';
import {
  BUNDLE_BUDGET_BYTES,
  formatMib,
  type LambdaArchitecture,
  parseArchitecture,
} from './deploy/budgets.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVERLESS_BIN = join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');
export const SERVERLESS_YML = join(ROOT, 'serverless.yml');
/** `provider.stage` of serverless.yml when no `--stage` is given. */
const DEFAULT_STAGE = 'dev';
/** What `serverless package` writes, and where tests read it. */
export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

export interface PackageOptions {
  stage?: string;
  region?: string;
  /** `--param` values, over `params.default` of serverless.yml. */
  params?: Record<string, string>;
  /** Output folder (`--package`); `.serverless/` by default. */
  outDir?: string;
  log?: (line: string) => void;
  /** Keep the framework's output, and show it only when it fails (tests). */
  quiet?: boolean;
}

export interface PackageResult {
  outDir: string;
  template: string;
  architecture: LambdaArchitecture;
  layer: LayerBuild;
  bundles: { name: string; bytes: number }[];
  /** Every zip written, with its size. */
  artifacts: { name: string; bytes: number }[];
  /** The AWS calls the stub answered (DescribeStacks, GetCallerIdentity). */
  awsCalls: string[];
}

/** Lambda runtimes the functions and the layer may be deployed on (`runtime` param); the first is the default. */
export const LAMBDA_RUNTIMES = ['nodejs24.x', 'nodejs22.x'] as const;
export type LambdaRuntime = (typeof LAMBDA_RUNTIMES)[number];

/** The params of a stage in serverless.yml (`params.default` under `params.<stage>`), as strings. */
export async function stageParams(stage: string, file = SERVERLESS_YML): Promise<Record<string, string>> {
  const document = parse(await readFile(file, 'utf8')) as {
    params?: Record<string, Record<string, unknown> | undefined>;
  };
  const merged = { ...document.params?.default, ...document.params?.[stage] };
  return Object.fromEntries(Object.entries(merged).map(([key, value]) => [key, String(value)]));
}

/**
 * Builds bundles and layer for the architecture the stage's params and `--param`s select (the
 * same precedence as the framework's), and checks both budgets.
 */
export async function buildArtifacts(
  stage: string,
  params: Record<string, string>,
  log: (line: string) => void = () => {},
): Promise<{
  architecture: LambdaArchitecture;
  layer: LayerBuild;
  bundles: { name: string; bytes: number }[];
}> {
  const effective = { ...(await stageParams(stage)), ...params };
  const architecture = parseArchitecture(effective.architecture ?? '', 'param architecture');
  if (!LAMBDA_RUNTIMES.includes(effective.runtime as LambdaRuntime)) {
    throw new Error(
      `param runtime must be one of ${LAMBDA_RUNTIMES.join(', ')}; got ${JSON.stringify(effective.runtime ?? '')}`,
    );
  }
  if (effective.authorizer === 'jwt' && (!effective.jwtIssuerUrl || !effective.jwtAudience)) {
    throw new Error('param authorizer=jwt needs jwtIssuerUrl and jwtAudience');
  }
  const bundles = (await buildHandlers()).map(({ name, bytes }) => ({ name, bytes }));
  for (const bundle of bundles) {
    log(`bundle ${bundle.name.padEnd(14)} ${formatMib(bundle.bytes)}`);
    if (bundle.bytes > BUNDLE_BUDGET_BYTES) {
      throw new Error(
        `bundle ${bundle.name}: ${formatMib(bundle.bytes)}, over its budget of ${formatMib(BUNDLE_BUDGET_BYTES)}`,
      );
    }
  }
  const layer = await buildLayer({ architecture });
  log(
    `layer  ${architecture.padEnd(14)} ${formatMib(layer.zippedBytes)} zipped, ${formatMib(layer.unzippedBytes)} unzipped${layer.reused ? ' (up to date)' : ''}`,
  );
  assertLayerWithinBudget(layer);
  await assertLayerLinksOnLambda(layer);
  return { architecture, layer, bundles };
}

/**
 * Packages offline; resolves once `serverless package` succeeded.
 *
 * @example
 * ```ts
 * const { template } = await packageOffline({ outDir: '/tmp/pkg', params: { architecture: 'x86_64' } });
 * ```
 */
export async function packageOffline(options: PackageOptions = {}): Promise<PackageResult> {
  const log = options.log ?? (() => {});
  const params = options.params ?? {};
  const outDir = resolve(options.outDir ?? join(ROOT, '.serverless'));
  const { architecture, layer, bundles } = await buildArtifacts(options.stage ?? DEFAULT_STAGE, params, log);
  const stub = await startAwsStub();
  try {
    await runServerless(
      ['package', ...serverlessArgs(options), '--package', outDir],
      options.quiet ?? false,
      {
        ...baseEnvironment(),
        ...OFFLINE_CREDENTIALS,
        ...stub.environment(),
        // Placeholder credentials only: never a profile or config file of this machine.
        AWS_CONFIG_FILE: devNull,
        AWS_SHARED_CREDENTIALS_FILE: devNull,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    );
  } finally {
    await stub.close();
  }
  const artifacts = [];
  for (const name of (await readdir(outDir)).filter((file) => file.endsWith('.zip')).sort()) {
    artifacts.push({ name, bytes: (await stat(join(outDir, name))).size });
  }
  return {
    outDir,
    template: join(outDir, TEMPLATE_FILE),
    architecture,
    layer,
    bundles,
    artifacts,
    awsCalls: stub.calls.map((call) => call.action),
  };
}

/** Builds and runs `serverless deploy` with the caller's own AWS credentials. */
export async function deploy(options: PackageOptions = {}): Promise<void> {
  await buildArtifacts(options.stage ?? DEFAULT_STAGE, options.params ?? {}, options.log);
  await runServerless(['deploy', ...serverlessArgs(options)], false, { ...process.env });
}

function serverlessArgs(options: PackageOptions): string[] {
  const args = ['--stage', options.stage ?? DEFAULT_STAGE];
  if (options.region) args.push('--region', options.region);
  for (const [key, value] of Object.entries(options.params ?? {})) args.push(`--param=${key}=${value}`);
  return args;
}

/** The parent's environment without any AWS setting, so nothing real is picked up by accident. */
function baseEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('AWS_')) env[key] = value;
  }
  return { ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' };
}

function runServerless(
  args: string[],
  quiet: boolean,
  env: Record<string, string | undefined>,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [SERVERLESS_BIN, ...args], {
      cwd: ROOT,
      env,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolvePromise()
        : reject(
            new Error(`serverless ${args[0]} exited with ${code}${output ? `:\n${output.trim()}` : ''}`),
          ),
    );
  });
}

/** `--stage s`, `--region r`, `--param k=v` / `--param=k=v` (repeatable), `--package dir`, `--deploy`. */
export function parseCliArgs(argv: readonly string[]): PackageOptions & { deploy: boolean } {
  const options: PackageOptions & { deploy: boolean } = { params: {}, deploy: false };
  const params = options.params as Record<string, string>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`${flag} needs a value`);
      return next;
    };
    if (flag === '--deploy') options.deploy = true;
    else if (flag === '--stage') options.stage = value();
    else if (flag === '--region') options.region = value();
    else if (flag === '--package') options.outDir = value();
    else if (flag === '--param') {
      const pair = value();
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--param takes name=value, got '${pair}'`);
      params[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const options = parseCliArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  if (options.deploy) {
    await deploy({ ...options, log });
  } else {
    const result = await packageOffline({ ...options, log });
    for (const artifact of result.artifacts) log(`${artifact.name.padEnd(28)} ${formatMib(artifact.bytes)}`);
    log(`template: ${relative(ROOT, result.template)}`);
  }
}
