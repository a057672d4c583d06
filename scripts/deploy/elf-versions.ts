/**
 * What a Linux shared object asks of the system's libraries: the symbol versions it needs
 * (GLIBC_2.17, GLIBCXX_3.4.29, CXXABI_1.3.13 …), read from its ELF `.gnu.version_r` section,
 * checked against what the Lambda runtime's OS provides. A layer whose binaries need a newer glibc
 * or libstdc++ fails at `require` time in Lambda with "version `GLIBC_2.38' not found", whatever
 * this machine has.
 */

/**
 * Newest symbol versions of Amazon Linux 2023, the OS of Lambda's `nodejs22.x` and `nodejs24.x`
 * runtimes: glibc 2.34 and GCC 11's libstdc++ (GLIBCXX_3.4.29, CXXABI_1.3.13), from AWS's AL2023
 * user guide ("Core toolchain packages glibc, gcc, binutils") and libstdc++'s ABI history.
 */
export const LAMBDA_OS_MAX_VERSIONS: Readonly<Record<string, string>> = {
  GLIBC: '2.34',
  GLIBCXX: '3.4.29',
  CXXABI: '1.3.13',
};

const SHT_GNU_VERNEED = 0x6ffffffe;

/** A needed version: the library that provides it and its name (`GLIBC_2.17`). */
export interface NeededVersion {
  file: string;
  version: string;
}

/**
 * The versions an ELF64 little-endian object needs (its `.gnu.version_r`), or undefined when the
 * bytes are not such an object.
 */
export function neededVersions(bytes: Uint8Array): NeededVersion[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isElf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  // ELFCLASS64, ELFDATA2LSB: what Lambda's x86_64 and arm64 both are.
  if (!isElf || bytes[4] !== 2 || bytes[5] !== 1) return undefined;
  const sectionOffset = Number(view.getBigUint64(0x28, true));
  const sectionSize = view.getUint16(0x3a, true);
  const sectionCount = view.getUint16(0x3c, true);
  const section = (index: number) => {
    const at = sectionOffset + index * sectionSize;
    return {
      type: view.getUint32(at + 4, true),
      offset: Number(view.getBigUint64(at + 0x18, true)),
      link: view.getUint32(at + 0x28, true),
      info: view.getUint32(at + 0x2c, true),
    };
  };
  const needed: NeededVersion[] = [];
  for (let index = 0; index < sectionCount; index++) {
    const verneed = section(index);
    if (verneed.type !== SHT_GNU_VERNEED) continue;
    const strings = section(verneed.link).offset;
    const text = (at: number) => {
      let end = strings + at;
      while (bytes[end] !== 0) end++;
      return Buffer.from(bytes.subarray(strings + at, end)).toString('latin1');
    };
    let entry = verneed.offset;
    for (let n = 0; n < verneed.info; n++) {
      const count = view.getUint16(entry + 2, true);
      const file = text(view.getUint32(entry + 4, true));
      let aux = entry + view.getUint32(entry + 8, true);
      for (let k = 0; k < count; k++) {
        needed.push({ file, version: text(view.getUint32(aux + 8, true)) });
        aux += view.getUint32(aux + 12, true);
      }
      const next = view.getUint32(entry + 12, true);
      if (next === 0) break;
      entry += next;
    }
  }
  return needed;
}

/** Compares dotted version numbers: negative when `a` is older. */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * The needed versions newer than `limits` allows (`GLIBC_2.38 from libc.so.6`), one line each;
 * families without a limit (GCC_, private ones) are not judged.
 */
export function versionsBeyond(
  needed: readonly NeededVersion[],
  limits: Readonly<Record<string, string>> = LAMBDA_OS_MAX_VERSIONS,
): string[] {
  const problems: string[] = [];
  for (const { file, version } of needed) {
    const match = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
    const limit = match?.[1] === undefined ? undefined : limits[match[1]];
    if (match?.[2] !== undefined && limit !== undefined && compareVersions(match[2], limit) > 0) {
      problems.push(`${version} from ${file} (the Lambda runtime's OS has up to ${match[1]}_${limit})`);
    }
  }
  return problems;
}

/** The highest needed version of each family (`{ GLIBC: '2.27', GLIBCXX: '3.4.22' }`). */
export function highestVersions(needed: readonly NeededVersion[]): Record<string, string> {
  const highest: Record<string, string> = {};
  for (const { version } of needed) {
    const match = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    const current = highest[match[1]];
    if (current === undefined || compareVersions(match[2], current) > 0) highest[match[1]] = match[2];
  }
  return highest;
}
