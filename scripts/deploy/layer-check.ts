/**
 * Proves a built layer works: a fresh Node process, outside the project (so the project's
 * node_modules cannot answer), resolves `onnxruntime-node` through `NODE_PATH` exactly as Lambda
 * does with `/opt/nodejs/node_modules`, runs an ONNX backend conformance case and returns its
 * outputs, which are compared with the case's expected outputs.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { type DecodedTensor, decodeTensorProto } from '../lib/onnx/tensor-proto.ts';
import { hostNodeRunner, type NodeRunner } from './arm64-emulator.ts';

/** The ONNX backend tests' tolerance. */
const RTOL = 1e-3;
const ATOL = 1e-7;

/** Element types the check can feed, by OIP datatype → onnxruntime tensor type. */
const ORT_TYPES: Partial<Record<DecodedTensor['datatype'], string>> = {
  FP32: 'float32',
  FP64: 'float64',
  INT32: 'int32',
  INT64: 'int64',
};

/** Runs in the child: CommonJS, reads the case from stdin, prints the outputs as JSON. */
const CHILD_SCRIPT = `
const ort = require('onnxruntime-node');
const resolved = require.resolve('onnxruntime-node');
const arrays = { float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array };
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const request = JSON.parse(input);
  const session = await ort.InferenceSession.create(request.model);
  const feeds = {};
  request.inputs.forEach((tensor, index) => {
    const values = tensor.type === 'int64' ? tensor.data.map((v) => BigInt(v)) : tensor.data;
    feeds[session.inputNames[index]] = new ort.Tensor(tensor.type, arrays[tensor.type].from(values), tensor.dims);
  });
  const results = await session.run(feeds);
  const outputs = session.outputNames.map((name) => ({
    name,
    dims: results[name].dims,
    data: Array.from(results[name].data, (v) => (typeof v === 'bigint' ? Number(v) : v)),
  }));
  process.stdout.write(JSON.stringify({ resolved, version: require('onnxruntime-node/package.json').version, outputs }));
});
`;

export interface LayerRun {
  /** Where `require.resolve('onnxruntime-node')` found the package: inside the layer. */
  resolved: string;
  version: string;
  caseName: string;
  outputs: number;
}

/**
 * Runs the conformance case in `caseDir` (`model.onnx`, `test_data_set_0/input_N.pb`,
 * `output_N.pb`) with onnxruntime-node from `nodeModulesDir`; throws when the package is not
 * resolved from there, fails to load, or computes something else than expected.
 */
export async function runCaseWithLayer(
  nodeModulesDir: string,
  caseDir: string,
  runner: NodeRunner = hostNodeRunner(),
): Promise<LayerRun> {
  const dataDir = join(caseDir, 'test_data_set_0');
  const files = (await readdir(dataDir)).sort();
  const read = async (prefix: string) =>
    Promise.all(
      files
        .filter((file) => file.startsWith(prefix))
        .sort((a, b) => fileIndex(a) - fileIndex(b))
        .map(async (file) => decodeTensorProto(await readFile(join(dataDir, file)))),
    );
  const inputs = await read('input_');
  const expected = await read('output_');
  const request = {
    model: join(caseDir, 'model.onnx'),
    inputs: inputs.map((tensor) => {
      const type = ORT_TYPES[tensor.datatype];
      if (!type) throw new Error(`layer check: input datatype ${tensor.datatype} is not supported here`);
      return {
        type,
        dims: tensor.dims,
        data: tensor.data.map((v) => (typeof v === 'bigint' ? v.toString() : v)),
      };
    }),
  };
  const answer = JSON.parse(await runChild(runner, nodeModulesDir, JSON.stringify(request))) as {
    resolved: string;
    version: string;
    outputs: { name: string; dims: number[]; data: number[] }[];
  };
  const root = nodeModulesDir.endsWith(sep) ? nodeModulesDir : `${nodeModulesDir}${sep}`;
  if (!answer.resolved.startsWith(root)) {
    throw new Error(`layer check: onnxruntime-node came from ${answer.resolved}, not from the layer ${root}`);
  }
  compareOutputs(answer.outputs, expected);
  return {
    resolved: answer.resolved,
    version: answer.version,
    caseName: caseDir.split(sep).pop() ?? caseDir,
    outputs: answer.outputs.length,
  };
}

function compareOutputs(
  actual: { name: string; dims: number[]; data: number[] }[],
  expected: DecodedTensor[],
) {
  if (actual.length !== expected.length) {
    throw new Error(`layer check: ${actual.length} outputs, expected ${expected.length}`);
  }
  expected.forEach((want, index) => {
    const got = actual[index] as { name: string; dims: number[]; data: number[] };
    if (got.dims.join(',') !== want.dims.join(',')) {
      throw new Error(`layer check: output ${got.name} has shape [${got.dims}], expected [${want.dims}]`);
    }
    want.data.forEach((value, i) => {
      const wanted = Number(value);
      const have = got.data[i] as number;
      if (!(Math.abs(have - wanted) <= ATOL + RTOL * Math.abs(wanted))) {
        throw new Error(`layer check: output ${got.name}[${i}] is ${have}, expected ${wanted}`);
      }
    });
  });
}

function runChild(runner: NodeRunner, nodeModulesDir: string, stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only what Node needs: no NODE_OPTIONS (a loader from the parent), no project paths.
    const child = spawn(runner.command, [...runner.args, '-e', CHILD_SCRIPT], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', NODE_PATH: nodeModulesDir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    // A child that dies at start-up closes its stdin early; its exit code and stderr tell why.
    child.stdin.on('error', () => {});
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else
        reject(
          new Error(`layer check: ${runner.label} exited with ${code}: ${stderr.trim().slice(0, 2000)}`),
        );
    });
    child.stdin.end(stdin);
  });
}

function fileIndex(file: string): number {
  return Number(/_(\d+)\.pb$/.exec(file)?.[1] ?? Number.NaN);
}
