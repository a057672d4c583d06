import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StackActivity } from '../../scripts/local/activity.ts';
import {
  colorFor,
  interceptStdout,
  LOG_FILES,
  REQUEST_LINES_PER_SECOND,
  StackConsole,
} from '../../scripts/local/console.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-serve-console-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EMF = JSON.stringify({ _aws: { Timestamp: 1, CloudWatchMetrics: [] }, Requests: 1 });
const CAPTURE = JSON.stringify({ level: 'INFO', message: 'capture', capture: { model: 'iris', id: 'a' } });
const REQUEST = JSON.stringify({
  level: 'INFO',
  message: 'request rejected',
  function_name: 'http',
  correlation_id: 'req-1',
  model: 'iris',
  errorMessage: "input 'input': expected 4, got 3",
});
const BATCH_FAILED = JSON.stringify({
  level: 'ERROR',
  message: 'batch file failed',
  model: 'iris',
  key: 'batch/input/iris/a.csv',
  retried: false,
  error: { kind: 'NotFound', message: "model 'x' not found", retryable: false },
});
const DRIFT = JSON.stringify({
  level: 'WARN',
  message: 'model drift detected',
  model: 'iris',
  version: '1',
  verdict: 'drift',
  predictionVerdict: 'no_drift',
  performanceVerdict: 'ok',
  predictions: 120,
  html: 'reports/iris/x.html',
  event: true,
});

function consoleFor(json: boolean, folder: string) {
  const out: string[] = [];
  const stackConsole = new StackConsole({
    json,
    color: false,
    logsDir: join(dir, folder),
    write: (text) => out.push(text),
    reportLink: (key) => `http://127.0.0.1:3000/${key}`,
    now: () => new Date(2026, 0, 1, 10, 20, 30),
  });
  return { stackConsole, out };
}

describe('local stack console', () => {
  it('readable mode: raw JSON lines go to their files, people get one line per event', async () => {
    const { stackConsole, out } = consoleFor(false, 'readable');
    for (const line of [EMF, CAPTURE, REQUEST, BATCH_FAILED, DRIFT, 'plain text from the stack']) {
      stackConsole.line(line);
    }
    const logged = stackConsole.takeRequestLog('req-1');
    stackConsole.printRequest(
      { method: 'POST', path: '/v2/models/iris/infer', status: 400, ms: 1.25, model: 'iris' },
      String(logged?.errorMessage),
    );
    await stackConsole.close();

    assert.deepEqual(out, [
      "10:20:30  batch  iris  batch/input/iris/a.csv  FAILED (not retried: a retry cannot fix it): model 'x' not found\n",
      '10:20:30  drift  iris v1  data drift  predictions no_drift  performance ok  120 predictions  alert raised  http://127.0.0.1:3000/reports/iris/x.html\n',
      'plain text from the stack\n',
      "10:20:30  POST /v2/models/iris/infer  400  iris  1.3 ms  input 'input': expected 4, got 3\n",
    ]);
    assert.equal(await readFile(join(dir, 'readable', LOG_FILES.metrics), 'utf8'), `${EMF}\n`);
    assert.equal(await readFile(join(dir, 'readable', LOG_FILES.captures), 'utf8'), `${CAPTURE}\n`);
    assert.equal(
      await readFile(join(dir, 'readable', LOG_FILES.functions), 'utf8'),
      `${REQUEST}\n${BATCH_FAILED}\n${DRIFT}\n`,
    );
  });

  it('JSON mode: the terminal gets every raw line, and the files too', async () => {
    const { stackConsole, out } = consoleFor(true, 'json');
    for (const line of [EMF, CAPTURE, REQUEST]) stackConsole.line(line);
    stackConsole.printRequest({ method: 'GET', path: '/', status: 200, ms: 1 });
    await stackConsole.close();

    assert.deepEqual(out, [`${EMF}\n`, `${CAPTURE}\n`, `${REQUEST}\n`]);
    assert.equal(await readFile(join(dir, 'json', LOG_FILES.captures), 'utf8'), `${CAPTURE}\n`);
  });

  it('a burst of requests: at most REQUEST_LINES_PER_SECOND lines, then one line counting the rest', async () => {
    const { stackConsole, out } = consoleFor(false, 'burst');
    for (let i = 0; i < REQUEST_LINES_PER_SECOND + 30; i++) {
      stackConsole.printRequest({
        method: 'POST',
        path: '/v2/models/iris/infer',
        status: i < 40 ? 200 : 400,
        ms: 1,
      });
    }
    await stackConsole.close();

    assert.equal(out.length, REQUEST_LINES_PER_SECOND + 1);
    assert.match(
      out.at(-1) ?? '',
      /… 30 more requests in that second: 20 × POST \/v2\/models\/iris\/infer 200, 10 × POST \/v2\/models\/iris\/infer 400/,
    );
  });

  it('concurrent requests: each gets the log line its own handler printed, whatever its correlation id', async () => {
    const { stackConsole } = consoleFor(false, 'concurrent');
    const logOf = (model: string) =>
      JSON.stringify({
        level: 'INFO',
        message: 'request',
        function_name: 'http',
        correlation_id: 'last-set',
        model,
      });
    const pause = () => new Promise((done) => setTimeout(done, 5));
    // Both handlers run at once; the shared logger's correlation id is the same for both lines.
    await Promise.all([
      stackConsole.runRequest('a', async () => {
        await pause();
        stackConsole.line(logOf('iris'));
      }),
      stackConsole.runRequest('b', async () => {
        stackConsole.line(logOf('wine'));
        await pause();
      }),
    ]);

    assert.equal(stackConsole.takeRequestLog('a')?.model, 'iris');
    assert.equal(stackConsole.takeRequestLog('b')?.model, 'wine');
    await stackConsole.close();
  });

  it('colours only on a terminal without NO_COLOR', () => {
    assert.equal(colorFor({ isTTY: true }, {}), true);
    assert.equal(colorFor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorFor({ isTTY: false }, {}), false);
  });

  it('request counters: per model, by outcome, with latency percentiles', () => {
    const activity = new StackActivity();
    for (let i = 1; i <= 100; i++) {
      activity.record({ method: 'POST', path: '/v2/models/iris/infer', status: 200, ms: i, version: '1' });
    }
    activity.record({ method: 'POST', path: '/v2/models/iris/infer', status: 400, ms: 1, synthetic: true });
    activity.record({ method: 'GET', path: '/v2/health/ready', status: 200, ms: 1 });

    const [iris] = activity.models();
    assert.equal(activity.total, 102);
    assert.equal(iris?.requests, 101);
    assert.equal(iris?.ok, 100);
    assert.equal(iris?.clientErrors, 1);
    assert.equal(iris?.synthetic, 1);
    assert.deepEqual(iris?.versions, { '1': 100 });
    assert.deepEqual(iris?.latencyMs, { p50: 50, p90: 90, p99: 99, max: 100 });
  });
});

describe('interceptStdout', () => {
  it('passes every whole line on (across chunks, bytes and console.log), prints only through its writer, until restored', () => {
    const printed: string[] = [];
    const seen: string[] = [];
    const original = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stdout.write;
    try {
      const { write, restore } = interceptStdout((line) => seen.push(line));
      process.stdout.write('{"a":1}\n{"b"');
      process.stdout.write(new TextEncoder().encode(':2}\n\u00e9t\u00e9\n'));
      console.log('from console');
      write('shown\n');
      process.stdout.write('tail without newline');
      restore();
      process.stdout.write('after\n');
    } finally {
      process.stdout.write = original;
    }

    assert.deepEqual(seen, ['{"a":1}', '{"b":2}', 'été', 'from console', 'tail without newline']);
    assert.equal(printed.join(''), 'shown\nafter\n');
  });
});
