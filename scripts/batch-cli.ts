/**
 * `npm run batch -- <file> --model <name>`: uploads a JSONL or CSV file (gzip allowed) to
 * `batch/input/{model}/`, waits for the batch function to score it, showing progress, and prints
 * the summary and where the output and errors went.
 *
 *   <file> --model <name> [--version <n|alias>] [--name <relative key>] [--timeout <seconds>]
 *          [--strict] [--json] [--no-wait]
 *
 * A numeric version goes in the key (`batch/input/{model}/v{n}/…`), an alias in the object's
 * `model-version` metadata. Target: the local stack (`.local/stack.json`) by default; `--bucket`
 * targets a real bucket with the usual AWS credential chain (`--region`, `--endpoint`,
 * `--path-style` optional). Exit code: 0 scored (also with failed rows, unless `--strict`),
 * 1 failed or timed out, 2 usage.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3ObjectStore } from '../src/adapters/aws/s3-store.ts';
import { batchOutputKeys, parseBatchInputKey, VERSION_METADATA_KEY } from '../src/batch/keys.ts';
import { type BatchSummary, isFinishedFor, parseSummary, retryMayFix } from '../src/batch/summary.ts';
import { StorageUnavailableError } from '../src/errors.ts';
import { assertModelName, parseVersionSelector } from '../src/repository/names.ts';
import { parseCli, runCli, UsageError } from './lib/cli.ts';
import { openCliTarget, type TargetFlags } from './local/stack-settings.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MIB = 1024 * 1024;
/** Failed looks at the summary in a row before the CLI gives up. */
const MAX_POLL_FAILURES = 5;

const USAGE = `usage:
  npm run batch -- <file.csv|file.jsonl[.gz]> --model <name> [--version <n|alias>] [--name <key name>]
                   [--timeout <seconds>] [--strict] [--json] [--no-wait]
target options (default: the local stack in .local/stack.json):
  --bucket <bucket> [--region <region>] [--endpoint <url>] [--path-style]`;

export interface CliIo {
  print: (line: string) => void;
  /** Rewrites the current terminal line (progress); absent when output is not a terminal. */
  status?: (line: string) => void;
  /** Milliseconds between two looks at the summary (default 1000). */
  pollIntervalMs?: number;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: CliIo = consoleIo()): Promise<number> {
  const { values, positionals } = parseCli(
    argv,
    USAGE,
    {
      model: { type: 'string' },
      version: { type: 'string' },
      name: { type: 'string' },
      timeout: { type: 'string', default: '900' },
      strict: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-wait': { type: 'boolean', default: false },
      bucket: { type: 'string' },
      region: { type: 'string' },
      endpoint: { type: 'string' },
      'path-style': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
    },
    { allowPositionals: true },
  );
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new UsageError('give exactly one input file');
  if (!values.model) throw new UsageError('--model is required');
  const model = values.model;
  const timeoutMs = Number(values.timeout) * 1000;
  if (!(timeoutMs > 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got '${values.timeout}'`);
  try {
    assertModelName(model);
    if (values.version !== undefined) parseVersionSelector(values.version);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const numeric = values.version !== undefined && /^[0-9]+$/.test(values.version);
  const name = values.name ?? basename(file);
  const key = `batch/input/${model}/${numeric ? `v${values.version}/` : ''}${name}`;
  const input = parseBatchInputKey(key);
  if (input === undefined || name.endsWith('/')) throw new UsageError(`'${name}' is not a file name`);
  const keys = batchOutputKeys(input);
  const { store, bucket } = await openStore(values);

  const size = (await stat(file)).size;
  // The summary as it stands before this upload: a run of identical content earlier has the same
  // ETag, so only a run that started after this look is the one this upload caused.
  const before = await readSummary(store, keys.summary);
  io.print(`uploading ${file} (${formatBytes(size)}) → s3://${bucket}/${key}`);
  const writer = store.createWriter(key, {
    contentType: /\.csv(\.gz)?$/i.test(file) ? 'text/csv' : 'application/x-ndjson',
    metadata:
      values.version !== undefined && !numeric ? { [VERSION_METADATA_KEY]: values.version } : undefined,
  });
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: MIB }))
      await writer.write(chunk as Buffer);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const { etag } = await writer.complete();
  if (values['no-wait']) {
    io.print(`uploaded; the summary will be at s3://${bucket}/${keys.summary}`);
    return 0;
  }

  const found = await waitForSummary(store, keys.summary, { etag, before }, timeoutMs, io);
  if (found === undefined) {
    io.print(
      `no finished summary for this upload after ${timeoutMs / 1000} s at s3://${bucket}/${keys.summary}` +
        ' — is the batch function wired to the bucket (npm start runs it locally)?',
    );
    return 1;
  }
  const { summary, alreadyScored } = found;
  if (alreadyScored) {
    io.print(
      `this content was already scored (run of ${summary.started_at}); the batch function skips identical uploads` +
        ' — upload it under another --name to score it again',
    );
  }
  if (values.json) io.print(JSON.stringify(summary, null, 2));
  else await printSummary(summary, `s3://${bucket}/`, keys.summary, store, io);
  if (summary.status === 'failed') return 1;
  return summary.status === 'partial' && values.strict ? 1 : 0;
}

async function readSummary(store: S3ObjectStore, key: string): Promise<BatchSummary | undefined> {
  const stored = await store.get(key);
  return stored === undefined ? undefined : parseSummary(stored.body);
}

/**
 * Whether `summary` is of the run this upload caused: over its content (ETag) and started after
 * the summary read before the upload (`before`), whose run, even over identical content, is older.
 */
export function isRunOfUpload(
  summary: BatchSummary | undefined,
  upload: { etag: string | undefined; before: BatchSummary | undefined },
): boolean {
  if (summary === undefined) return false;
  if (upload.etag !== undefined && summary.input.etag !== upload.etag) return false;
  return upload.before === undefined || summary.started_at !== upload.before.started_at;
}

async function waitForSummary(
  store: S3ObjectStore,
  key: string,
  upload: { etag: string | undefined; before: BatchSummary | undefined },
  timeoutMs: number,
  io: CliIo,
): Promise<{ summary: BatchSummary; alreadyScored: boolean } | undefined> {
  const started = Date.now();
  const interval = io.pollIntervalMs ?? 1000;
  let lastPrinted = 0;
  let failures = 0;
  while (Date.now() - started < timeoutMs) {
    let summary: BatchSummary | undefined;
    try {
      summary = await readSummary(store, key);
      failures = 0;
    } catch (error) {
      // One failed look (the summary being rewritten, a blip) is not the run's outcome: look again.
      if (!(error instanceof StorageUnavailableError) || ++failures >= MAX_POLL_FAILURES) throw error;
      await new Promise((done) => setTimeout(done, interval));
      continue;
    }
    const current = summary;
    const ours = current !== undefined && isRunOfUpload(current, upload);
    if (ours && current.status !== 'running') {
      io.status?.('');
      return { summary: current, alreadyScored: false };
    }
    // Identical content already scored: the batch function skips it and writes nothing new.
    const previous = upload.before;
    if (!ours && previous !== undefined && isFinishedFor(previous, upload.etag)) {
      if (current?.started_at === previous.started_at) {
        io.status?.('');
        return { summary: previous, alreadyScored: true };
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const ranges = ours ? current.fan_out?.ranges : undefined;
    const line = ours
      ? `scoring: ${ranges === undefined ? '' : `ranges ${ranges.done}/${ranges.total ?? '?'} · `}${current.counts.total.toLocaleString('en')} rows` +
        `${current.counts.failed > 0 ? ` (${current.counts.failed.toLocaleString('en')} failed)` : ''}` +
        ` · ${current.rows_per_second.toLocaleString('en')} rows/s · ${seconds} s`
      : `waiting for the batch function to pick the file up · ${seconds} s`;
    if (io.status) io.status(line);
    else if (Date.now() - lastPrinted >= 5000) {
      io.print(line);
      lastPrinted = Date.now();
    }
    await new Promise((done) => setTimeout(done, interval));
  }
  io.status?.('');
  return undefined;
}

async function printSummary(
  summary: BatchSummary,
  location: string,
  summaryKey: string,
  store: S3ObjectStore,
  io: CliIo,
): Promise<void> {
  const { total, ok, failed } = summary.counts;
  io.print(
    `${summary.status}: ${summary.model} version ${summary.version ?? '?'} (${summary.version_from ?? 'default'}), ` +
      `${total.toLocaleString('en')} rows, ${ok.toLocaleString('en')} scored, ${failed.toLocaleString('en')} failed, ` +
      `${(summary.duration_ms / 1000).toFixed(1)} s (${summary.rows_per_second.toLocaleString('en')} rows/s)`,
  );
  if (summary.fan_out) {
    const { ranges, execution } = summary.fan_out;
    io.print(
      `  fan-out   ${ranges.done}/${ranges.total ?? '?'} ranges in parallel (execution ${execution ?? '?'})`,
    );
  }
  if (summary.output)
    io.print(`  output    ${location}${summary.output.key} (${formatBytes(summary.output.bytes)})`);
  if (summary.errors) {
    io.print(`  errors    ${location}${summary.errors.key} (${rowsOf(summary.errors.count)})`);
    for (const line of await firstLines(store, summary.errors.key, 5)) io.print(`            ${line}`);
  }
  if (summary.captures)
    io.print(`  captures  ${location}${summary.captures.key} (${rowsOf(summary.captures.count)})`);
  io.print(`  summary   ${location}${summaryKey}`);
  for (const warning of summary.warnings) io.print(`  warning   ${warning}`);
  if (summary.error) {
    const retry = retryMayFix(summary.error)
      ? ' (the batch function retries it)'
      : ' (not retried: a retry cannot fix it; fix the cause and upload again)';
    io.print(`  error     ${summary.error.message}${retry}`);
  }
}

/** The first `count` lines of an object, reading no more than needed. */
async function firstLines(store: S3ObjectStore, key: string, count: number): Promise<string[]> {
  const object = await store.getStream(key);
  if (object === undefined) return [];
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of object.body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.split('\n').length > count) break;
    }
  } finally {
    object.close();
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .slice(0, count);
}

async function openStore(values: TargetFlags): Promise<{ store: S3ObjectStore; bucket: string }> {
  // Uploads and summaries of large files stream for a while.
  const target = await openCliTarget(values, join(ROOT, '.local'), {
    requestTimeoutMs: 120_000,
    socketTimeoutMs: 120_000,
  });
  if (!target) throw new UsageError('no local stack found; run npm start first, or pass --bucket');
  return target;
}

function rowsOf(count: number): string {
  return `${count.toLocaleString('en')} row${count === 1 ? '' : 's'}`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MIB) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

function consoleIo(): CliIo {
  const tty = process.stdout.isTTY === true;
  return {
    print: (line) => console.log(line),
    status: tty
      ? (line) => {
          process.stdout.write(`\r\x1b[2K${line}`);
        }
      : undefined,
  };
}

runCli(import.meta.url, USAGE, (argv) => main(argv));
