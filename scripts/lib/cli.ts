/**
 * What every command-line tool of the project shares: argument parsing with `--help`/`-h`, one
 * error type for mistakes in how a tool was called (printed with the usage, exit code 2), the
 * entry-point runner that maps errors to exit codes, and the quieting of notices that do not apply.
 *
 * @example
 * ```ts
 * const USAGE = 'usage:\n  npm run thing -- --model <name>';
 * export async function main(argv: string[]): Promise<number> {
 *   const { values } = parseCli(argv, USAGE, { model: { type: 'string' } });
 *   if (!values.model) throw new UsageError('--model is required');
 *   return 0;
 * }
 * runCli(import.meta.url, USAGE, main);
 * ```
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in how a tool was called: printed with the tool's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--help` or `-h` was given: the usage goes to stdout and the tool exits with 0. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
  constructor(readonly usage: string) {
    super('help requested');
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Node's own parse errors (unknown option, missing value) carry an `ERR_PARSE_ARGS_*` code. */
function isParseArgsError(error: unknown): error is TypeError {
  const code = error instanceof TypeError ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * `node:util` `parseArgs` (strict) with `--help`/`-h` added: throws `HelpRequested` when asked for
 * help, and `UsageError` (naming the option) for an unknown option or a missing value.
 */
export function parseCli<const O extends Options>(
  argv: readonly string[],
  usage: string,
  options: O,
  config: { allowPositionals?: boolean } = {},
) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(usage);
  try {
    return parseArgs({
      args: [...argv],
      options,
      allowPositionals: config.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    if (isParseArgsError(error)) throw new UsageError(error.message.replace(/\. To specify .*$/s, ''));
    throw error;
  }
}

/**
 * Turns off the AWS SDK's notice that its releases after January 2027 need Node ≥ 22: these tools
 * run on the developer's machine with the SDK version locked in package-lock.json, and the deployed
 * functions run nodejs22.x, so the notice asks nothing of the person reading it. Set before the
 * first client is created (the SDK reads `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED` then).
 */
export function quietSdkNodeNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** How errors that are not usage mistakes end the tool (exit code 1); extra known kinds map to 2. */
export interface RunCliOptions {
  /** Error classes that are the caller's mistake too (printed with the usage, exit code 2). */
  usageErrors?: (abstract new (
    ...args: never[]
  ) => Error)[];
}

/** True when `moduleUrl` is the script node was started with (not imported by a test). */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === resolve(process.argv[1]);
}

/**
 * Runs `main` with the process arguments when `moduleUrl` is the entry point: `--help` prints the
 * usage (exit 0), a `UsageError` prints `error: …` and the usage on stderr (exit 2), any other
 * error `error: …` (exit 1); a number `main` resolves with becomes the exit code.
 */
export function runCli(
  moduleUrl: string,
  usage: string,
  main: (argv: string[]) => Promise<number | undefined | unknown>,
  options: RunCliOptions = {},
): void {
  if (!isEntryPoint(moduleUrl)) return;
  quietSdkNodeNotice();
  main(process.argv.slice(2)).then(
    (result) => {
      if (typeof result === 'number') process.exitCode = result;
    },
    (error: unknown) => {
      process.exitCode = exitCodeOf(error, usage, options, (line) => process.stderr.write(`${line}\n`));
      if (error instanceof HelpRequested) process.stdout.write(`${error.usage}\n`);
    },
  );
}

/** The exit code for an error, printing what the person needs to read (not for `--help`). */
export function exitCodeOf(
  error: unknown,
  usage: string,
  options: RunCliOptions,
  printError: (line: string) => void,
): number {
  if (error instanceof HelpRequested) return 0;
  const usageKinds = [UsageError, ...(options.usageErrors ?? [])];
  if (usageKinds.some((kind) => error instanceof kind) || isParseArgsError(error)) {
    printError(`error: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  printError(`error: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}
