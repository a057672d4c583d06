/**
 * The capture log line: how an API capture record leaves the http function. In Lambda, a
 * CloudWatch Logs subscription filter (`CAPTURE_FILTER_PATTERN`, serverless.yml
 * `custom.capture.filterPattern`) ships these lines to Firehose, which files each one under
 * `captures/{model}/{yyyy}/{MM}/{dd}/{HH}/` using `capture.model` and `capture.ts`; the local stack
 * does the same from the same lines (scripts/local/capture-pipeline.ts). docs/captures.md.
 */
import { isJsonObject } from '../codec/json.ts';
import { type CaptureRecord, captureTensor, toJsonLine } from './record.ts';

/** The `message` of a capture log line: what the subscription filter selects on. */
export const CAPTURE_LOG_MESSAGE = 'capture';
/** The CloudWatch Logs filter pattern that selects capture lines (serverless.yml uses the same). */
export const CAPTURE_FILTER_PATTERN = `{ $.message = "${CAPTURE_LOG_MESSAGE}" }`;
/**
 * Longest capture line written, in bytes. CloudWatch Logs cuts events above 256 KiB, which would
 * leave half a JSON object in the captures; a record over this is written with every tensor
 * summarised, or not at all.
 */
export const MAX_CAPTURE_LINE_BYTES = 200 * 1024;

/** A capture log line: Powertools' keys for log tools, and the record under `capture`. */
export interface CaptureLogLine {
  level: 'INFO';
  message: typeof CAPTURE_LOG_MESSAGE;
  service: string;
  timestamp: string;
  capture: CaptureRecord;
}

/**
 * The log line of one record, newline included: one JSON object on one line, int64 exact.
 *
 * @example
 * ```ts
 * formatCaptureLine(record, 'onnx-serve');
 * // '{"level":"INFO","message":"capture","service":"onnx-serve","timestamp":"…","capture":{…}}\n'
 * ```
 */
export function formatCaptureLine(record: CaptureRecord, service: string): string {
  const line: CaptureLogLine = {
    level: 'INFO',
    message: CAPTURE_LOG_MESSAGE,
    service,
    timestamp: record.ts,
    capture: record,
  };
  return `${toJsonLine(line)}\n`;
}

/**
 * The log lines of `records`, joined, each at most `maxBytes`: a longer record is written again
 * with every tensor summarised and, if still too long, left out and counted in `oversized`.
 *
 * @example
 * ```ts
 * const { text, count } = formatCaptureLines(records, 'onnx-serve');
 * process.stdout.write(text);
 * ```
 */
export function formatCaptureLines(
  records: readonly CaptureRecord[],
  service: string,
  maxBytes = MAX_CAPTURE_LINE_BYTES,
): { text: string; count: number; oversized: string[] } {
  let text = '';
  let count = 0;
  const oversized: string[] = [];
  for (const record of records) {
    let line = formatCaptureLine(record, service);
    if (Buffer.byteLength(line) > maxBytes) line = formatCaptureLine(summarised(record), service);
    if (Buffer.byteLength(line) > maxBytes) {
      oversized.push(record.id);
      continue;
    }
    text += line;
    count += 1;
  }
  return { text, count, oversized };
}

/**
 * The capture record of a log line when the capture pipeline would ship and file it: the line is
 * JSON with `message` equal to `"capture"` (the subscription filter) and a `capture` object whose
 * `model` and `ts` are strings (Firehose's partition keys). Anything else is `undefined`.
 *
 * @example
 * ```ts
 * captureOfLogLine(formatCaptureLine(record, 'svc')); // record
 * captureOfLogLine('{"message":"request"}');          // undefined
 * ```
 */
export function captureOfLogLine(line: string): CaptureRecord | undefined {
  // Most lines are requests logs and metrics: skip them without parsing.
  if (!line.includes(`"${CAPTURE_LOG_MESSAGE}"`)) return undefined;
  const value = parseObject(line);
  if (value?.message !== CAPTURE_LOG_MESSAGE) return undefined;
  const capture = value.capture;
  if (!isJsonObject(capture) || typeof capture.model !== 'string' || typeof capture.ts !== 'string') {
    return undefined;
  }
  return capture as unknown as CaptureRecord;
}

/**
 * The capture record of one line of a `captures/` object, whoever wrote it: batch scoring writes
 * bare records, the log pipeline writes whole capture log lines (the record under `capture`).
 * `undefined` for a line that is neither (blank, not JSON, not a record).
 *
 * @example
 * ```ts
 * for await (const text of lines) {
 *   const record = captureOfStoredLine(text);
 *   if (record?.schema === CAPTURE_SCHEMA_VERSION) use(record);
 * }
 * ```
 */
export function captureOfStoredLine(line: string): CaptureRecord | undefined {
  const value = parseObject(line);
  if (value === undefined) return undefined;
  const record = value.message === CAPTURE_LOG_MESSAGE && isJsonObject(value.capture) ? value.capture : value;
  if (typeof record.schema !== 'number' || typeof record.id !== 'string') return undefined;
  return record as unknown as CaptureRecord;
}

/** The record with every input and output tensor reduced to its summary. */
function summarised(record: CaptureRecord): CaptureRecord {
  const summarise = (tensors: CaptureRecord['outputs']) =>
    tensors.map((tensor) =>
      tensor.data === undefined
        ? tensor
        : captureTensor(
            { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, data: tensor.data },
            0,
          ),
    );
  return {
    ...record,
    inputs: Array.isArray(record.inputs) ? summarise(record.inputs) : record.inputs,
    outputs: summarise(record.outputs),
    truncated: true,
  };
}

function parseObject(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
