/**
 * Which files of the installed onnxruntime packages go into the Lambda layer. An allow-list: the
 * npm package ships binaries for every OS and CPU (288 MB), the layer keeps the JavaScript that
 * `require('onnxruntime-node')` runs and the native binding of one platform.
 */

/** The packages of the layer, in `nodejs/node_modules/`. */
export const LAYER_PACKAGES = ['onnxruntime-node', 'onnxruntime-common'] as const;
export type LayerPackageName = (typeof LAYER_PACKAGES)[number];

/** Lambda runs Linux only. */
export const LAYER_PLATFORM = 'linux';

const LICENSE_FILE = /^(LICEN[CS]E|NOTICE|ThirdPartyNotices)(\.[A-Za-z]+)?$/i;
/** Debug symbols and type declarations: never loaded at run time. */
const NEVER = /(\.pdb|\.map|\.d\.ts|\.d\.cts|\.d\.mts)$/;

/**
 * Whether `path` (relative to the package folder, `/`-separated) belongs in a layer for
 * Linux on `nodeArch` (`process.arch`: `x64` or `arm64`).
 *
 * @example
 * ```ts
 * keepInLayer('onnxruntime-node', 'bin/napi-v6/linux/arm64/libonnxruntime.so.1', 'arm64'); // true
 * keepInLayer('onnxruntime-node', 'bin/napi-v6/linux/x64/libonnxruntime.so.1', 'arm64');   // false
 * keepInLayer('onnxruntime-node', 'bin/napi-v6/darwin/arm64/onnxruntime_binding.node', 'arm64'); // false
 * ```
 */
export function keepInLayer(pkg: LayerPackageName, path: string, nodeArch: string): boolean {
  if (path === 'package.json' || LICENSE_FILE.test(path)) return true;
  if (NEVER.test(path)) return false;
  if (pkg === 'onnxruntime-node') {
    // dist/ is flat CommonJS; bin/napi-v<N>/<os>/<arch>/ holds the binding and libonnxruntime.
    if (/^dist\/[^/]+\.js$/.test(path)) return true;
    const binary = /^bin\/napi-v\d+\/([^/]+)\/([^/]+)\/[^/]+$/.exec(path);
    return binary !== null && binary[1] === LAYER_PLATFORM && binary[2] === nodeArch;
  }
  // onnxruntime-common: `require` resolves dist/cjs (which has its own package.json saying so);
  // dist/esm stays for an `import`, it is small.
  return /^dist\/(cjs|esm)\/(.+\.js|package\.json)$/.test(path);
}
