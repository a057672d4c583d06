/**
 * Typed readers for environment variables. Each reads once, at start-up, and fails naming the
 * variable and what it expected, so a misconfigured function dies at init with a clear log line
 * instead of answering requests wrongly.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(variable: string, expected: string, got: string) {
    super(`environment variable ${variable}: expected ${expected}, got '${got}'`);
    this.name = 'ConfigError';
  }
}

export function readString(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(name, 'a non-empty value', value ?? '');
}

export function readOptionalString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function readNumber(
  env: Env,
  name: string,
  fallback: number,
  range: { min?: number; max?: number } = {},
) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = range;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(name, `a number in [${min}, ${max}]`, raw);
  }
  return value;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigError(name, 'true or false', raw);
}

/** Comma-separated list, blanks dropped. */
export function readList(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
