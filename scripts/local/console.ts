/**
 * The local stack's terminal output for people: one readable line per request, batch file, drift
 * check and model validation, while every raw JSON line the functions print (EMF metrics, logs,
 * capture lines) goes to a file under `<state dir>/logs/`. In JSON mode (`--json`,
 * `LOCAL_OUTPUT=json`) the terminal gets the raw lines, as Lambda's log stream would.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { RequestRecord } from './activity.ts';

/** Longest stdout line kept whole; longer runaway output without a newline is cut. */
const MAX_LINE_CHARS = 1024 * 1024;
/** Request log lines waiting for their request's answer, at most. */
const MAX_PENDING_REQUESTS = 10_000;
/** Request lines printed per second; past that, one summary line says how many more there were. */
export const REQUEST_LINES_PER_SECOND = 20;

/** The files raw lines go to, under `<state dir>/logs/`. */
export const LOG_FILES = {
  /** Powertools log lines of every function (requests, batch, drift, validation, warnings). */
  functions: 'functions.jsonl',
  /** EMF metric documents, as CloudWatch would receive them. */
  metrics: 'metrics.jsonl',
  /** Capture log lines of the http function (the capture pipeline files them in the bucket too). */
  captures: 'captures.jsonl',
} as const;

export interface StackConsoleOptions {
  /** Raw JSON lines on the terminal instead of readable ones. */
  json: boolean;
  /** ANSI colours in readable lines. */
  color: boolean;
  /** Folder of the raw log files (created; files start empty at each start). */
  logsDir: string;
  /** Writes to the real terminal. */
  write: (text: string) => void;
  /** The address reports are served from (the local stack's API), for links in drift lines. */
  reportLink?: (key: string) => string;
  /** Clock for the time column. */
  now?: () => Date;
}

type Json = Record<string, unknown>;

/** Whether colours suit `stream`: a terminal, and `NO_COLOR` not set (https://no-color.org). */
export function colorFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

/**
 * Routes the stack's stdout lines: raw JSON lines to their log file, readable lines (or the raw
 * ones in JSON mode) to the terminal. The local stack prints each request's line itself
 * (`printRequest`) with the fields the http function logged for it (`takeRequestLog`).
 */
export class StackConsole {
  readonly #options: StackConsoleOptions;
  readonly #files: Record<keyof typeof LOG_FILES, WriteStream>;
  readonly #pending = new Map<string, Json>();
  readonly #paint: Painter;
  /** The request whose handler is running: its log line is matched by this, not by a logger field. */
  readonly #request = new AsyncLocalStorage<string>();
  #second = 0;
  #printedThisSecond = 0;
  #suppressed = new Map<string, number>();
  readonly #flushTimer: NodeJS.Timeout;
  reportLink: ((key: string) => string) | undefined;

  constructor(options: StackConsoleOptions) {
    this.#options = options;
    this.reportLink = options.reportLink;
    mkdirSync(options.logsDir, { recursive: true });
    const open = (name: string) => createWriteStream(join(options.logsDir, name), { flags: 'w' });
    this.#files = {
      functions: open(LOG_FILES.functions),
      metrics: open(LOG_FILES.metrics),
      captures: open(LOG_FILES.captures),
    };
    this.#paint = painter(options.color);
    this.#flushTimer = setInterval(() => this.#flushSuppressed(), 1000);
    this.#flushTimer.unref();
  }

  /**
   * Runs a request's handler so that its log line can be told apart from those of concurrent
   * requests: every function of the stack shares one process and one logger, whose correlation id
   * is the last request's, so the line is matched by the asynchronous context that printed it.
   */
  runRequest<T>(requestId: string, handler: () => Promise<T>): Promise<T> {
    return this.#request.run(requestId, handler);
  }

  /** One line of stdout (without its newline). */
  line(line: string): void {
    const json = line.startsWith('{') ? parseObject(line) : undefined;
    const kind = json === undefined ? undefined : kindOf(json);
    if (kind !== undefined) this.#files[kind].write(`${line}\n`);
    // Kept in both modes: the request counters read it.
    const request = json !== undefined && kind === 'functions' && isRequestLog(json);
    const requestId = this.#request.getStore() ?? json?.correlation_id;
    if (request && typeof requestId === 'string') {
      if (this.#pending.size >= MAX_PENDING_REQUESTS) this.#pending.clear();
      this.#pending.set(requestId, json);
    }
    if (this.#options.json || json === undefined) {
      this.#options.write(`${line}\n`);
      return;
    }
    if (kind !== 'functions' || request) return;
    const readable = this.describe(json);
    if (readable !== undefined) this.#print(readable);
  }

  /** The http function's log line for the request with this id (API Gateway's request id). */
  takeRequestLog(requestId: string): Json | undefined {
    const found = this.#pending.get(requestId);
    this.#pending.delete(requestId);
    return found;
  }

  /** The readable line of one request (nothing in JSON mode: the function's log line says it). */
  printRequest(request: RequestRecord, error?: string): void {
    if (this.#options.json) return;
    const p = this.#paint;
    const second = Math.floor(this.#now().getTime() / 1000);
    if (second !== this.#second) {
      this.#flushSuppressed();
      this.#second = second;
      this.#printedThisSecond = 0;
    }
    if (this.#printedThisSecond >= REQUEST_LINES_PER_SECOND) {
      const key = `${request.method} ${request.path} ${request.status}`;
      this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
      return;
    }
    this.#printedThisSecond += 1;
    const status =
      request.status >= 500
        ? p.red(String(request.status))
        : request.status >= 400
          ? p.yellow(String(request.status))
          : p.green(String(request.status));
    const model =
      request.model === undefined ? '' : `${request.model}${request.version ? ` v${request.version}` : ''}`;
    const extras = [
      request.synthetic ? 'synthetic' : '',
      request.captured ? `${request.captured} captured` : '',
      request.accepted !== undefined ? `${request.accepted} outcomes` : '',
    ].filter((part) => part !== '');
    this.#print(
      [
        `${request.method.padEnd(4)} ${request.path}`,
        status,
        model,
        p.dim(formatMs(request.ms)),
        extras.length > 0 ? p.dim(extras.join(', ')) : '',
        error ? p.yellow(truncate(error, 160)) : '',
      ]
        .filter((part) => part !== '')
        .join('  '),
    );
  }

  /** A readable line for a function's log line, or undefined for lines people need not read. */
  describe(log: Json): string | undefined {
    const p = this.#paint;
    const message = String(log.message ?? '');
    const model = `${str(log.model) ?? '?'}${log.version ? ` v${str(log.version)}` : ''}`;
    switch (message) {
      case 'model valid':
        return `${p.cyan('model')}  ${model}  ${p.green('valid')}${log.loadMs !== undefined ? p.dim(`  load ${formatMs(Number(log.loadMs))}`) : ''}`;
      case 'model invalid':
        return `${p.cyan('model')}  ${model}  ${p.red('INVALID')}  ${truncate(str(log.reason) ?? '', 200)}`;
      case 'model validation unchanged':
        return p.dim(`model  ${model}  unchanged (${str(log.status) ?? '?'})`);
      case 'model validation failed':
        return `${p.cyan('model')}  ${str(log.key)}  ${p.red('validation failed')}: ${errorText(log.error)}`;
      case 'batch file scored':
        return `${p.cyan('batch')}  ${model}  ${str(log.key)}  ${log.status === 'partial' ? p.yellow('partial') : p.green('succeeded')}  ${count(log.total)} rows, ${count(log.failed)} failed${p.dim(`  ${formatMs(Number(log.durationMs))}`)}`;
      case 'batch file failed': {
        const error = log.error as { message?: string; kind?: string } | undefined;
        const retry = log.retried === false ? ' (not retried: a retry cannot fix it)' : ' (will be retried)';
        return `${p.cyan('batch')}  ${model}  ${str(log.key)}  ${p.red('FAILED')}${retry}: ${truncate(error?.message ?? '?', 200)}`;
      }
      case 'batch file already scored; skipped':
        return p.dim(`batch  ${model}  ${str(log.key)}  already scored; skipped`);
      case 'batch object ignored':
        return p.dim(`batch  ${str(log.key)}  ignored: ${str(log.reason)}`);
      case 'drift check':
      case 'model drift detected': {
        const verdict = str(log.verdict) ?? '?';
        const html = str(log.html);
        const link = html && this.reportLink ? this.reportLink(html) : html;
        return [
          `${p.cyan('drift')}  ${model}`,
          verdict === 'drift' ? p.red('data drift') : `data ${verdict}`,
          `predictions ${str(log.predictionVerdict) ?? 'n/a'}`,
          `performance ${str(log.performanceVerdict) ?? '?'}`,
          `${count(log.predictions)} predictions`,
          log.event ? p.red('alert raised') : '',
          link ? p.dim(link) : '',
        ]
          .filter((part) => part !== '')
          .join('  ');
      }
      case 'drift check skipped':
        return p.dim(`drift  ${model}  skipped: ${str(log.reason)}`);
      case 'drift check failed':
        return `${p.cyan('drift')}  ${model}  ${p.red('FAILED')}: ${errorText(log.error)}`;
      case 'model preloaded':
        return p.dim(`http   preloaded ${str(log.entry)}`);
      default: {
        const level = String(log.level ?? 'INFO');
        if (level !== 'WARN' && level !== 'ERROR' && level !== 'CRITICAL') return undefined;
        const text = `${level.padEnd(5)} ${str(log.function_name) ?? ''}: ${message}${log.error ? ` — ${errorText(log.error)}` : ''}`;
        return level === 'WARN' ? p.yellow(text) : p.red(text);
      }
    }
  }

  /** Finishes the log files. */
  async close(): Promise<void> {
    clearInterval(this.#flushTimer);
    this.#flushSuppressed();
    await Promise.all(
      Object.values(this.#files).map((file) => new Promise<void>((done) => file.end(() => done()))),
    );
  }

  #now(): Date {
    return (this.#options.now ?? (() => new Date()))();
  }

  #print(text: string): void {
    this.#options.write(`${this.#paint.dim(this.#now().toTimeString().slice(0, 8))}  ${text}\n`);
  }

  /** One line for the requests not printed in the last second (a load test, say). */
  #flushSuppressed(): void {
    if (this.#suppressed.size === 0) return;
    const total = [...this.#suppressed.values()].reduce((sum, n) => sum + n, 0);
    const kinds = this.#suppressed.size;
    const parts = [...this.#suppressed.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([key, n]) => `${n.toLocaleString('en')} × ${key}`);
    this.#suppressed = new Map();
    this.#print(
      this.#paint.dim(
        `… ${total.toLocaleString('en')} more requests in that second: ${parts.join(', ')}${kinds > 4 ? ', …' : ''} (each one is in ${LOG_FILES.functions})`,
      ),
    );
  }
}

/**
 * Replaces `process.stdout.write`: every complete line goes to `onLine`, nothing is printed unless
 * `onLine` prints it (through the returned `write`). Returns the original writer and the undo.
 */
export function interceptStdout(onLine: (line: string) => void): {
  write: (text: string) => void;
  restore: () => void;
} {
  const stdout = process.stdout;
  const original = stdout.write;
  const decoder = new TextDecoder();
  let carry = '';
  const feed = (chunk: unknown) => {
    const text =
      typeof chunk === 'string'
        ? chunk
        : chunk instanceof Uint8Array
          ? decoder.decode(chunk, { stream: true })
          : '';
    const parts = (carry + text).split('\n');
    carry = parts.pop() ?? '';
    if (carry.length > MAX_LINE_CHARS) carry = '';
    for (const line of parts) {
      try {
        onLine(line);
      } catch {
        // The console must never break the functions that print.
      }
    }
  };
  stdout.write = function write(this: NodeJS.WriteStream, ...args: unknown[]): boolean {
    feed(args[0]);
    const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) process.nextTick(callback);
    return true;
  } as typeof stdout.write;
  const write = (text: string) => {
    Reflect.apply(original, stdout, [text]);
  };
  return {
    write,
    restore: () => {
      stdout.write = original;
      if (carry !== '') {
        const last = carry;
        carry = '';
        onLine(last);
      }
    },
  };
}

function kindOf(json: Json): keyof typeof LOG_FILES {
  if (typeof json._aws === 'object' && json._aws !== null) return 'metrics';
  if (json.message === 'capture' && typeof json.capture === 'object') return 'captures';
  return 'functions';
}

function isRequestLog(json: Json): boolean {
  return (
    json.function_name === 'http' &&
    (json.message === 'request' || json.message === 'request rejected' || json.message === 'request failed')
  );
}

function parseObject(line: string): Json | undefined {
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}

function count(value: unknown): string {
  return typeof value === 'number' ? value.toLocaleString('en') : '?';
}

function errorText(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error)
    return truncate(String((error as { message: unknown }).message), 200);
  return truncate(String(error), 200);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** `0.8 ms`, `12 ms`, `1.3 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

interface Painter {
  red: (text: string) => string;
  yellow: (text: string) => string;
  green: (text: string) => string;
  cyan: (text: string) => string;
  dim: (text: string) => string;
}

function painter(color: boolean): Painter {
  const code = (open: number, close: number) => (text: string) =>
    color ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    red: code(31, 39),
    yellow: code(33, 39),
    green: code(32, 39),
    cyan: code(36, 39),
    dim: code(2, 22),
  };
}
