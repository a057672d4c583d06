import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  assertLayerLinksOnLambda,
  buildLayer,
  CHECK_CASE,
  hostArchitecture,
  layerRunner,
} from '../../scripts/build-layer.ts';
import { arm64EmulationUnavailable } from '../../scripts/deploy/arm64-emulator.ts';
import {
  LAMBDA_ARCHITECTURES,
  LAMBDA_UNZIPPED_LIMIT_BYTES,
  type LambdaArchitecture,
} from '../../scripts/deploy/budgets.ts';
import {
  compareVersions,
  LAMBDA_OS_MAX_VERSIONS,
  neededVersions,
  versionsBeyond,
} from '../../scripts/deploy/elf-versions.ts';
import { runCaseWithLayer } from '../../scripts/deploy/layer-check.ts';
import { keepInLayer } from '../../scripts/deploy/layer-files.ts';
import { conformanceDir } from '../helpers/paths.ts';

describe('layer file selection', () => {
  const cases: [Parameters<typeof keepInLayer>[0], string, string, boolean][] = [
    ['onnxruntime-node', 'package.json', 'arm64', true],
    ['onnxruntime-node', 'dist/index.js', 'arm64', true],
    ['onnxruntime-node', 'dist/index.js.map', 'arm64', false],
    ['onnxruntime-node', 'dist/index.d.ts', 'arm64', false],
    ['onnxruntime-node', 'bin/napi-v6/linux/arm64/onnxruntime_binding.node', 'arm64', true],
    ['onnxruntime-node', 'bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'arm64', true],
    ['onnxruntime-node', 'bin/napi-v6/linux/x64/libonnxruntime.so.1', 'arm64', false],
    ['onnxruntime-node', 'bin/napi-v6/linux/x64/libonnxruntime.so.1', 'x64', true],
    ['onnxruntime-node', 'bin/napi-v6/linux/x64/onnxruntime.pdb', 'x64', false],
    ['onnxruntime-node', 'bin/napi-v6/darwin/arm64/libonnxruntime.1.dylib', 'arm64', false],
    ['onnxruntime-node', 'bin/napi-v6/win32/x64/onnxruntime.dll', 'x64', false],
    ['onnxruntime-node', 'lib/index.ts', 'x64', false],
    ['onnxruntime-node', 'script/install.js', 'x64', false],
    ['onnxruntime-node', 'README.md', 'x64', false],
    ['onnxruntime-node', 'LICENSE', 'x64', true],
    ['onnxruntime-common', 'dist/cjs/index.js', 'x64', true],
    ['onnxruntime-common', 'dist/cjs/package.json', 'x64', true],
    ['onnxruntime-common', 'dist/esm/index.js', 'x64', true],
    ['onnxruntime-common', 'dist/cjs/index.d.ts', 'x64', false],
    ['onnxruntime-common', 'lib/index.ts', 'x64', false],
  ];
  for (const [pkg, path, arch, kept] of cases) {
    it(`${kept ? 'keeps' : 'drops'} ${pkg}/${path} for linux/${arch}`, () => {
      assert.equal(keepInLayer(pkg, path, arch), kept);
    });
  }
});

describe('onnxruntime layer', () => {
  for (const architecture of Object.keys(LAMBDA_ARCHITECTURES) as LambdaArchitecture[]) {
    it(`${architecture}: only linux/${LAMBDA_ARCHITECTURES[architecture]} binaries, well under Lambda's limit`, async () => {
      const layer = await buildLayer({ architecture });
      const binaries = layer.files.filter((file) => file.path.startsWith('onnxruntime-node/bin/'));

      assert.ok(binaries.some((file) => file.path.endsWith('/onnxruntime_binding.node')));
      for (const file of binaries) {
        assert.match(file.path, new RegExp(`^onnxruntime-node/bin/napi-v\\d+/linux/${layer.nodeArch}/`));
      }
      assert.ok(
        layer.unzippedBytes < LAMBDA_UNZIPPED_LIMIT_BYTES / 4,
        `${layer.unzippedBytes} bytes unzipped`,
      );
    });
  }

  const host = hostArchitecture();
  it(`loads from NODE_PATH alone and runs ${CHECK_CASE} (this machine: ${host ?? 'no Lambda architecture'})`, {
    skip: host === undefined ? `no Lambda architecture is ${process.platform}/${process.arch}` : false,
  }, async () => {
    const layer = await buildLayer({ architecture: host as LambdaArchitecture });

    const run = await runCaseWithLayer(layer.nodeModules, join(conformanceDir(), 'onnx-backend', CHECK_CASE));

    assert.ok(run.resolved.startsWith(layer.nodeModules), run.resolved);
    assert.equal(run.version, layer.version);
    assert.ok(run.outputs > 0);
  });

  const emulation = host === 'x86_64' ? arm64EmulationUnavailable() : 'this machine is not linux/x64';
  it(`arm64: loads and runs ${CHECK_CASE} on the Lambda runtime's arm64 Node under qemu (Graviton-like cpuinfo)`, {
    skip: emulation ?? false,
  }, async () => {
    const layer = await buildLayer({ architecture: 'arm64' });
    const runner = await layerRunner('arm64');
    assert.ok('runner' in runner, 'skipped' in runner ? runner.skipped : '');
    try {
      const run = await runCaseWithLayer(
        layer.nodeModules,
        join(conformanceDir(), 'onnx-backend', CHECK_CASE),
        runner.runner,
      );

      assert.match(runner.runner.label, /linux\/arm64 under qemu/);
      assert.ok(run.resolved.startsWith(layer.nodeModules), run.resolved);
      assert.ok(run.outputs > 0);
    } finally {
      await runner.runner.dispose();
    }
  });

  it('the check fails when onnxruntime-node is not in the folder given', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'onnx-serve-empty-layer-'));
    try {
      await assert.rejects(
        runCaseWithLayer(empty, join(conformanceDir(), 'onnx-backend', CHECK_CASE)),
        /Cannot find module 'onnxruntime-node'/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe("the layer's native binaries on the Lambda runtime's OS (Amazon Linux 2023)", () => {
  for (const architecture of Object.keys(LAMBDA_ARCHITECTURES) as LambdaArchitecture[]) {
    it(`${architecture}: glibc, libstdc++ and C++ ABI versions within glibc 2.34 / GLIBCXX_3.4.29 / CXXABI_1.3.13`, async () => {
      const layer = await buildLayer({ architecture });

      const highest = await assertLayerLinksOnLambda(layer);

      // Read from the binaries, not assumed: each family is there.
      for (const family of ['GLIBC', 'GLIBCXX', 'CXXABI']) assert.ok(highest[family], family);
      assert.ok(compareVersions(highest.GLIBC ?? '', LAMBDA_OS_MAX_VERSIONS.GLIBC ?? '') <= 0);
    });
  }

  it('reads the needed versions of a real binary, with the library each comes from', async () => {
    const layer = await buildLayer({ architecture: 'x86_64' });
    const binding = layer.files.find((file) => file.path.endsWith('/onnxruntime_binding.node'));
    assert.ok(binding);

    const needed = neededVersions(await readFile(join(layer.nodeModules, binding.path))) ?? [];

    assert.ok(needed.some(({ file, version }) => file === 'libc.so.6' && version.startsWith('GLIBC_2.')));
    assert.ok(
      needed.some(({ file, version }) => file === 'libstdc++.so.6' && version.startsWith('GLIBCXX_3.4')),
    );
    assert.equal(neededVersions(new TextEncoder().encode('not an ELF file')), undefined);
  });

  it('names every version newer than the OS has, and ignores families it has no limit for', () => {
    const problems = versionsBeyond([
      { file: 'libc.so.6', version: 'GLIBC_2.34' },
      { file: 'libc.so.6', version: 'GLIBC_2.38' },
      { file: 'libstdc++.so.6', version: 'GLIBCXX_3.4.30' },
      { file: 'libstdc++.so.6', version: 'GLIBCXX_3.4.9' },
      { file: 'libstdc++.so.6', version: 'CXXABI_1.3.14' },
      { file: 'libgcc_s.so.1', version: 'GCC_12.0.0' },
      { file: 'libonnxruntime.so.1', version: 'VERS_1.30.0' },
    ]);

    assert.deepEqual(problems, [
      "GLIBC_2.38 from libc.so.6 (the Lambda runtime's OS has up to GLIBC_2.34)",
      "GLIBCXX_3.4.30 from libstdc++.so.6 (the Lambda runtime's OS has up to GLIBCXX_3.4.29)",
      "CXXABI_1.3.14 from libstdc++.so.6 (the Lambda runtime's OS has up to CXXABI_1.3.13)",
    ]);
  });
});
