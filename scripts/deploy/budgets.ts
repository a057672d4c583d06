/**
 * Lambda architectures and the size budgets the deployment is held to. Sizes are in MiB, as
 * Lambda counts its own limits (250 MB unzipped = 262,144,000 bytes).
 */

export const MIB = 1024 * 1024;

/** Lambda's architecture names, each with Node's `process.arch` for the same CPU. */
export const LAMBDA_ARCHITECTURES = {
  arm64: 'arm64',
  x86_64: 'x64',
} as const;
export type LambdaArchitecture = keyof typeof LAMBDA_ARCHITECTURES;
/** The default of `serverless.yml` (`params.default.architecture`): about 20 % cheaper per GB-s. */
export const DEFAULT_ARCHITECTURE: LambdaArchitecture = 'arm64';

/** The onnxruntime layer, zipped, per architecture (arm64 binaries are about half the size). */
export const LAYER_ZIPPED_BUDGET_BYTES: Record<LambdaArchitecture, number> = {
  arm64: 12 * MIB,
  x86_64: 20 * MIB,
};
/** Every handler bundle (`dist/<name>/index.mjs`). */
export const BUNDLE_BUDGET_BYTES = 1 * MIB;
/** Lambda's limit on a function and all its layers, unzipped. */
export const LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * MIB;

export function isLambdaArchitecture(value: string): value is LambdaArchitecture {
  return Object.hasOwn(LAMBDA_ARCHITECTURES, value);
}

/** Parses an architecture name, failing with the accepted values. */
export function parseArchitecture(value: string, where: string): LambdaArchitecture {
  if (isLambdaArchitecture(value)) return value;
  throw new Error(
    `${where}: architecture must be one of ${Object.keys(LAMBDA_ARCHITECTURES).join(', ')}, got '${value}'`,
  );
}

/** `12.3 MiB` */
export function formatMib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
