/**
 * Structured logs off Lambda: one JSON object per line on stdout, with the keys of the Lambda
 * functions' Powertools lines (`level`, `message`, `service`, `timestamp`), so the same queries
 * work in any log collector (Kubernetes, Cloud Run, a file).
 */
import { toJsonLine } from '../../capture/record.ts';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export interface JsonLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger writing JSON lines through `write` (stdout by default); lines under `level` are dropped.
 * An `error` field holding an `Error` is written as `{ name, message, stack }`.
 *
 * @example
 * ```ts
 * const log = createJsonLogger({ service: 'onnx-serve', level: 'INFO' });
 * log.info('request', { status: 200, requestMs: 1.2 });
 * ```
 */
export function createJsonLogger(options: {
  service: string;
  level?: LogLevel;
  write?: (line: string) => void;
}): JsonLogger {
  const threshold = ORDER[options.level ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const emit = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < threshold) return;
    const line: Record<string, unknown> = {
      level,
      message,
      service: options.service,
      timestamp: new Date().toISOString(),
    };
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line[key] = value instanceof Error ? errorFields(value) : value;
    }
    write(`${toJsonLine(line)}\n`);
  };
  return {
    debug: (message, fields) => emit('DEBUG', message, fields),
    info: (message, fields) => emit('INFO', message, fields),
    warn: (message, fields) => emit('WARN', message, fields),
    error: (message, fields) => emit('ERROR', message, fields),
  };
}

/** `LOG_LEVEL` (default INFO); anything else than the four levels is an error. */
export function parseLogLevel(raw: string | undefined): LogLevel {
  const value = (raw ?? '').trim().toUpperCase() || 'INFO';
  if (value in ORDER) return value as LogLevel;
  throw new Error(`environment variable LOG_LEVEL: expected DEBUG, INFO, WARN or ERROR, got '${raw}'`);
}

function errorFields(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(error.cause instanceof Error
      ? { cause: { name: error.cause.name, message: error.cause.message } }
      : {}),
  };
}
