/**
 * The local stack's web console in Debian's Chromium (playwright-core): the page at `/` loads with
 * no console error and no request outside the stack, lists the demo models with their validation
 * status, traffic, latest drift verdict (whose report opens from the stack) and batch runs, and the
 * try-it form gets a 200 answer. A screenshot is saved for a human to look at.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { main as batchCli } from '../../scripts/batch-cli.ts';
import { main as driftCli } from '../../scripts/drift-cli.ts';
import { CONSOLE_CSP } from '../../scripts/local/web-console.ts';
import { chromiumSkip, launchChromium } from '../helpers/chromium.ts';
import { requestJson } from '../helpers/http.ts';
import { type RunningStack, startStack } from '../helpers/local-stack.ts';

const SCREENSHOT = join(tmpdir(), 'onnx-serve-web-console.png');

const skip = chromiumSkip('the web console');

let stack: RunningStack;
let context: BrowserContext | undefined;
let profile: string;

describe('local web console in headless Chromium', { skip }, () => {
  before(async () => {
    // The terminal as a person sees it: readable lines, raw JSON lines in .local/logs/.
    stack = await startStack({ CAPTURE_FLUSH_SECONDS: '0.5', LOCAL_OUTPUT: 'readable' });
    const infer = await requestJson(`${stack.apiUrl}/v2/models/iris/infer`, {
      body: { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] },
    });
    assert.equal(infer.status, 200, infer.text);
    const quiet = () => {};
    await driftCli(['--model', 'iris', '--state-dir', stack.stateDir], quiet);
    const holdout = join(stack.stateDir, 'demo-models', 'iris', 'holdout.csv');
    const code = await batchCli(
      [holdout, '--model', 'iris', '--state-dir', stack.stateDir, '--timeout', '60'],
      {
        print: quiet,
        pollIntervalMs: 100,
      },
    );
    assert.equal(code, 0);
    profile = await mkdtemp(join(tmpdir(), 'web-console-'));
    context = await launchChromium(join(profile, 'profile'));
  });

  after(async () => {
    await context?.close();
    await stack?.stop();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  async function open(path: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    assert.ok(context);
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => requests.push(request.url()));
    const response = await page.goto(`${stack.apiUrl}${path}`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['content-security-policy'], CONSOLE_CSP);
    return { page, errors, requests };
  }

  it('shows every demo model, its traffic, drift verdict and the batch run; the form gets a 200', async (t) => {
    const { page, errors, requests } = await open('/');

    const text = (await page.locator('body').textContent()) ?? '';
    for (const model of ['breast-cancer', 'iris', 'wine']) {
      assert.equal((await page.locator(`#model-${model} h3`).textContent()) ?? '', model);
    }
    assert.equal((await page.locator('#model-iris .badge.ok').first().textContent()) ?? '', 'valid');
    assert.match(text, /input FP32\[-1,4\] → label INT64\[-1\] probabilities FP32\[-1,3\]/);
    assert.match(
      (await page.locator('#model-iris').textContent()) ?? '',
      /requests\s*1 \(1 ok, 0 4xx, 0 5xx, 0 synthetic\)/,
    );
    assert.match((await page.locator('#model-iris').textContent()) ?? '', /data\s*insufficient_data/);
    assert.match(
      (await page.locator('#batch').textContent()) ?? '',
      /batch\/input\/iris\/holdout\.csv\s*iris v1\s*succeeded/,
    );

    await page.locator('form.try:has(input[name="model"][value="iris"]) button').click();
    await page.waitForSelector('#answer-status');
    assert.equal((await page.locator('#answer-status').textContent()) ?? '', '200');
    assert.match((await page.locator('#answer pre').textContent()) ?? '', /"model_name": "iris"/);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);

    const report = await page.locator('#model-iris a', { hasText: 'latest report' }).getAttribute('href');
    assert.match(report ?? '', /^\/reports\/iris\/.*\/drift\.html$/);
    const opened = await open(report ?? '');
    assert.match(await opened.page.title(), /iris/);

    assert.deepEqual([...errors, ...opened.errors], [], 'no console error or warning');
    const outside = [...requests, ...opened.requests].filter((url) => !url.startsWith(`${stack.apiUrl}/`));
    assert.deepEqual(outside, [], 'no request leaves the stack');
    // The form's request was marked synthetic: served, counted as such, not captured.
    const after = await requestJson(`${stack.apiUrl}/`);
    assert.match(after.text, /requests<\/dt><dd>2 \(2 ok, 0 4xx, 0 5xx, 1 synthetic\)/);
  });

  it('the terminal shows readable lines; the raw JSON lines are in the log files', async () => {
    const bad = await requestJson(`${stack.apiUrl}/v2/models/iris/infer`, {
      body: { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] },
    });
    assert.equal(bad.status, 400);
    const printed = await waitForLine(/POST \/v2\/models\/iris\/infer {2}400 {2}iris /);

    assert.match(printed, /dimension 1 expected 4, got 3$/);
    assert.deepEqual(
      stack.lines.filter((line) => line.startsWith('{')),
      [],
      'no raw JSON line on the terminal',
    );
    assert.ok(
      stack.lines.some((line) => /POST \/v2\/models\/iris\/infer {2}200 {2}iris v1 .* 1 captured/.test(line)),
    );
    assert.ok(stack.lines.some((line) => /model {2}iris v1 {2}valid/.test(line)));
    assert.ok(
      stack.lines.some((line) =>
        /batch {2}iris v1 {2}batch\/input\/iris\/holdout\.csv {2}succeeded/.test(line),
      ),
    );
    const logs = join(stack.stateDir, 'logs');
    const functions = await readFile(join(logs, 'functions.jsonl'), 'utf8');
    assert.match(functions, /"message":"request rejected"/);
    assert.match(await readFile(join(logs, 'metrics.jsonl'), 'utf8'), /"_aws"/);
    assert.match(await readFile(join(logs, 'captures.jsonl'), 'utf8'), /"message":"capture"/);
  });
});

async function waitForLine(pattern: RegExp): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const found = stack.lines.find((line) => pattern.test(line));
    if (found !== undefined) return found;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`no line matches ${pattern}:\n${stack.lines.join('\n')}`);
}
