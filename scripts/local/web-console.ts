/**
 * The local stack's web console at `/`: the whole system on one server-rendered page — models and
 * versions (validation status and reason, signature, config), what the API served per model since
 * the start, captures and outcomes, the latest drift verdicts with their HTML reports (served at
 * `/reports/…` from the bucket), batch runs, and a form that sends a sample request to a model.
 * No script, no external resource: the page carries the same Content-Security-Policy as the drift
 * reports. It exists only in the local stack; nothing of it is deployed.
 */
import type { ServerResponse } from 'node:http';
import { type BatchSummary, parseSummary } from '../../src/batch/summary.ts';
import { SYNTHETIC_HEADER } from '../../src/http/app.ts';
import type { ObjectStore } from '../../src/ports/object-store.ts';
import { syntheticRequest } from '../loadtest.ts';
import type { ModelActivity, StackActivity } from './activity.ts';
import { formatMs } from './console.ts';

/** The page's policy in its `<meta>`: nothing loads, nothing runs; forms post back to the stack only. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'";
/** The response header's policy: the same, and no framing (which only a header can say). */
export const CONSOLE_CSP = `${PAGE_CSP}; frame-ancestors 'none'`;

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

/** Batch runs listed, newest first. */
const MAX_BATCH_RUNS = 20;
/** Earlier drift reports linked per model. */
const MAX_REPORT_LINKS = 5;
/** Longest request body the try-it form accepts. */
const MAX_FORM_BYTES = 256 * 1024;

export interface WebConsoleOptions {
  store: ObjectStore;
  activity: StackActivity;
  /** The stack's API, which the try-it form's requests go to. */
  apiUrl: () => string;
}

interface Version {
  version: string;
  metadata?: Record<string, unknown>;
  reference?: unknown;
}

interface ModelView {
  name: string;
  config?: Record<string, unknown>;
  configError?: string;
  versions: Version[];
  latest?: Record<string, unknown>;
  reports: string[];
  captureObjects: number;
  outcomeObjects: number;
  activity?: ModelActivity;
}

interface TryResult {
  model: string;
  version: string;
  status: number;
  body: string;
  request: string;
}

/**
 * The console's routes: `GET /` (the page), `POST /console/try` (the form: the page again with the
 * answer), `GET /reports/…` (drift reports from the bucket). Resolves false for any other request.
 *
 * @example
 * ```ts
 * const web = new WebConsole({ store, activity, apiUrl: () => stack.apiUrl });
 * if (!(await web.handle('GET', '/', undefined, response))) serveApi();
 * ```
 */
export class WebConsole {
  readonly #options: WebConsoleOptions;

  constructor(options: WebConsoleOptions) {
    this.#options = options;
  }

  async handle(
    method: string,
    path: string,
    body: Buffer | undefined,
    response: ServerResponse,
  ): Promise<boolean> {
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      this.#send(response, 200, await this.page());
      return true;
    }
    if (path === '/console/try' && method === 'POST') {
      const form = new URLSearchParams(
        (body ?? Buffer.alloc(0)).subarray(0, MAX_FORM_BYTES).toString('utf8'),
      );
      const result = await this.tryModel(
        form.get('model') ?? '',
        form.get('version') ?? '',
        form.get('body') ?? '',
      );
      this.#send(response, 200, await this.page(result));
      return true;
    }
    if (path.startsWith('/reports/') && (method === 'GET' || method === 'HEAD')) {
      await this.#report(decodeURIComponent(path.slice(1)), response);
      return true;
    }
    return false;
  }

  /** Sends the form's request to the API, marked synthetic (not captured). */
  async tryModel(model: string, version: string, request: string): Promise<TryResult> {
    const base = this.#options.apiUrl();
    const path = `/v2/models/${encodeURIComponent(model)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/infer`;
    try {
      const answer = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SYNTHETIC_HEADER]: '1' },
        body: request,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await answer.text();
      return { model, version, status: answer.status, body: prettyJson(text), request };
    } catch (error) {
      return { model, version, status: 0, body: `no answer: ${(error as Error).message}`, request };
    }
  }

  /** The whole page, with the try-it answer when there is one. */
  async page(tried?: TryResult): Promise<string> {
    const [models, runs] = await Promise.all([this.#models(), this.#batchRuns()]);
    const activity = this.#options.activity;
    const uptime = formatMs(Date.now() - activity.startedAt.getTime());
    return [
      '<!doctype html>',
      '<html lang="en"><head><meta charset="utf-8">',
      `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(PAGE_CSP)}">`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<title>onnx-serve · local console</title>',
      `<style>${STYLE}</style></head><body>`,
      '<header><h1>onnx-serve <small>local console</small></h1>',
      `<p>API <code>${escapeHtml(this.#options.apiUrl())}</code> · up ${escapeHtml(uptime)} since ${escapeHtml(activity.startedAt.toISOString())} · ${activity.total.toLocaleString('en')} API requests served · <a href="/">refresh</a></p>`,
      '<nav><a href="#models">Models</a> <a href="#try">Try it</a> <a href="#batch">Batch runs</a></nav></header>',
      '<main>',
      tried ? tryAnswer(tried) : '',
      '<section id="models"><h2>Models</h2>',
      models.length === 0
        ? '<p>No models in the bucket yet. Publish one with <code>npm run model -- publish model.onnx --name my-model</code>.</p>'
        : models.map(modelSection).join('\n'),
      '</section>',
      tryForm(models, tried),
      batchSection(runs),
      '</main>',
      '<footer>This page is part of the local stack (<code>npm start</code>) only: it is not deployed with the API. Raw logs: <code>.local/logs/*.jsonl</code>.</footer>',
      '</body></html>',
    ].join('\n');
  }

  async #models(): Promise<ModelView[]> {
    const { store } = this.#options;
    const listing = await store.list('models/', { delimiter: '/' });
    const names = listing.prefixes.map((prefix) => prefix.slice('models/'.length, -1)).sort();
    return Promise.all(
      names.map(async (name): Promise<ModelView> => {
        const [config, versionListing, latest, reports, captures, outcomes] = await Promise.all([
          readJson(store, `models/${name}/config.json`),
          store.list(`models/${name}/`, { delimiter: '/' }),
          readJson(store, `reports/${name}/latest.json`),
          store.list(`reports/${name}/`),
          store.list(`captures/${name}/`),
          store.list(`outcomes/${name}/`),
        ]);
        const versionNames = versionListing.prefixes
          .map((prefix) => prefix.slice(`models/${name}/`.length, -1))
          .filter((version) => /^[0-9]+$/.test(version))
          .sort((a, b) => Number(a) - Number(b));
        const versions = await Promise.all(
          versionNames.map(async (version) => {
            const [metadata, reference] = await Promise.all([
              readJson(store, `models/${name}/${version}/metadata.json`),
              readJson(store, `models/${name}/${version}/reference.json`),
            ]);
            return { version, metadata: metadata.value, reference: reference.value };
          }),
        );
        return {
          name,
          config: config.value,
          configError: config.error,
          versions,
          latest: latest.value,
          reports: reports.objects
            .map((object) => object.key)
            .filter((key) => key.endsWith('/drift.html'))
            .sort()
            .reverse()
            .slice(0, MAX_REPORT_LINKS),
          captureObjects: captures.objects.length,
          outcomeObjects: outcomes.objects.length,
          activity: this.#options.activity.model(name),
        };
      }),
    );
  }

  async #batchRuns(): Promise<{ key: string; summary: BatchSummary }[]> {
    const { store } = this.#options;
    const keys = (await store.list('batch/output/')).objects
      .filter((object) => object.key.endsWith('.summary.json'))
      .sort((a, b) => (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0))
      .slice(0, MAX_BATCH_RUNS);
    const runs = await Promise.all(
      keys.map(async ({ key }) => {
        const object = await store.get(key);
        const summary = object === undefined ? undefined : parseSummary(object.body);
        return summary === undefined ? undefined : { key, summary };
      }),
    );
    return runs.filter((run) => run !== undefined);
  }

  async #report(key: string, response: ServerResponse): Promise<void> {
    const safe = /^reports\/[^?#]+\.(html|json)$/.test(key) && !key.split('/').includes('..');
    const object = safe ? await this.#options.store.get(key) : undefined;
    if (object === undefined) {
      this.#send(
        response,
        404,
        `<!doctype html><title>not found</title><p>No report at ${escapeHtml(key)}.</p>`,
      );
      return;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': key.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/json',
    });
    response.end(object.body);
  }

  #send(response: ServerResponse, status: number, html: string): void {
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  }
}

function modelSection(model: ModelView): string {
  const description = typeof model.config?.description === 'string' ? model.config.description : '';
  return [
    `<article class="model" id="model-${escapeHtml(model.name)}"><h3>${escapeHtml(model.name)}</h3>`,
    description ? `<p>${escapeHtml(description)}</p>` : '',
    '<table><thead><tr><th>version</th><th>status</th><th>inputs → outputs</th><th>load</th><th>latency (validation)</th></tr></thead><tbody>',
    model.versions.length === 0
      ? '<tr><td colspan="5">no versions</td></tr>'
      : model.versions.map(versionRow).join(''),
    '</tbody></table>',
    '<div class="grid">',
    trafficBlock(model),
    driftBlock(model),
    '</div>',
    model.configError
      ? `<p class="bad">config.json: ${escapeHtml(model.configError)}</p>`
      : model.config
        ? `<details><summary>config.json</summary><pre>${escapeHtml(JSON.stringify(model.config, null, 2))}</pre></details>`
        : '<p class="muted">no config.json (defaults apply)</p>',
    '</article>',
  ].join('\n');
}

function versionRow(version: Version): string {
  const metadata = version.metadata;
  if (metadata === undefined) {
    return `<tr><td>${escapeHtml(version.version)}</td><td><span class="badge wait">not validated yet</span></td><td colspan="3"></td></tr>`;
  }
  const status = String(metadata.status ?? '?');
  const reason = typeof metadata.reason === 'string' ? metadata.reason : '';
  const latency = metadata.latency_ms as { median?: number; p90?: number } | null | undefined;
  return [
    `<tr><td>${escapeHtml(version.version)}</td>`,
    `<td><span class="badge ${status === 'valid' ? 'ok' : 'bad'}">${escapeHtml(status)}</span>${reason ? `<div class="reason">${escapeHtml(reason)}</div>` : ''}</td>`,
    `<td>${signature(metadata.inputs)} → ${signature(metadata.outputs)}</td>`,
    `<td>${typeof metadata.load_ms === 'number' ? escapeHtml(formatMs(metadata.load_ms)) : '–'}</td>`,
    `<td>${latency && typeof latency.median === 'number' ? `median ${escapeHtml(formatMs(latency.median))}${typeof latency.p90 === 'number' ? `, p90 ${escapeHtml(formatMs(latency.p90))}` : ''}` : '–'}</td></tr>`,
  ].join('');
}

function signature(tensors: unknown): string {
  if (!Array.isArray(tensors)) return '?';
  return tensors
    .map((tensor: { name?: unknown; datatype?: unknown; shape?: unknown }) => {
      const shape = Array.isArray(tensor.shape) ? tensor.shape.join(',') : '?';
      return `<code>${escapeHtml(String(tensor.name))} ${escapeHtml(String(tensor.datatype))}[${escapeHtml(shape)}]</code>`;
    })
    .join(' ');
}

function trafficBlock(model: ModelView): string {
  const a = model.activity;
  const rows: [string, string][] = a
    ? [
        [
          'requests',
          `${a.requests} (${a.ok} ok, ${a.clientErrors} 4xx, ${a.serverErrors} 5xx, ${a.synthetic} synthetic)`,
        ],
        [
          'latency p50 / p90 / p99 / max',
          a.latencyMs
            ? [a.latencyMs.p50, a.latencyMs.p90, a.latencyMs.p99, a.latencyMs.max].map(formatMs).join(' / ')
            : '–',
        ],
        [
          'versions answering',
          Object.entries(a.versions)
            .map(([v, n]) => `v${v}: ${n}`)
            .join(', ') || '–',
        ],
        ['predictions captured', String(a.captured)],
        ['outcomes received', String(a.outcomes)],
      ]
    : [['requests', '0']];
  rows.push([
    'in the bucket',
    `${model.captureObjects} capture objects, ${model.outcomeObjects} outcome objects`,
  ]);
  return `<div><h4>Traffic since the stack started</h4>${definitionList(rows)}</div>`;
}

function driftBlock(model: ModelView): string {
  const latest = model.latest;
  if (latest === undefined) {
    return (
      '<div><h4>Drift</h4><p class="muted">No drift check yet: <code>npm run drift -- --model ' +
      `${escapeHtml(model.name)}</code>.</p></div>`
    );
  }
  const summary = (latest.summary ?? {}) as Record<string, unknown>;
  const keys = (latest.keys ?? {}) as { html?: string; json?: string };
  const verdict = String(latest.verdict ?? '?');
  const rows: [string, string][] = [
    ['checked', escapeHtml(String(latest.generated_at ?? '?'))],
    ['data', `<span class="badge ${verdictClass(verdict)}">${escapeHtml(verdict)}</span>`],
    ['predictions', escapeHtml(String(summary.prediction_verdict ?? 'n/a'))],
    ['performance', escapeHtml(String(summary.performance_verdict ?? '?'))],
    ['predictions in the window', escapeHtml(String(summary.predictions ?? '?'))],
    ['alert', summary.alert ? '<span class="badge bad">raised</span>' : 'no'],
  ];
  const links = model.reports
    .map(
      (key, index) =>
        `<a href="/${escapeHtml(key)}">${index === 0 ? 'latest report' : escapeHtml(key.split('/').slice(2, 6).join('-'))}</a>`,
    )
    .join(' · ');
  return `<div><h4>Drift</h4>${definitionList(rows, true)}<p>${keys.html ? links : ''}</p></div>`;
}

function verdictClass(verdict: string): string {
  if (verdict === 'drift') return 'bad';
  if (verdict === 'warning') return 'wait';
  if (verdict === 'ok' || verdict === 'no_drift') return 'ok';
  return 'muted';
}

function tryForm(models: ModelView[], tried: TryResult | undefined): string {
  const choices = models.flatMap((model) =>
    model.versions
      .filter((version) => version.metadata?.status === 'valid')
      .map((version) => ({ model, version })),
  );
  if (choices.length === 0)
    return '<section id="try"><h2>Try it</h2><p>No valid model to try yet.</p></section>';
  const forms = choices.map(({ model, version }) => {
    const sample =
      tried && tried.model === model.name && tried.version === version.version
        ? tried.request
        : sampleRequest(model.name, version);
    return [
      `<form method="post" action="/console/try" class="try">`,
      `<h3>${escapeHtml(model.name)} v${escapeHtml(version.version)}</h3>`,
      `<input type="hidden" name="model" value="${escapeHtml(model.name)}">`,
      `<input type="hidden" name="version" value="${escapeHtml(version.version)}">`,
      `<label>Request body (generated from the model's signature${version.reference ? ' and reference profile' : ''}; edit freely)`,
      `<textarea name="body" rows="8" spellcheck="false">${escapeHtml(sample)}</textarea></label>`,
      `<button type="submit">Send to POST /v2/models/${escapeHtml(model.name)}/versions/${escapeHtml(version.version)}/infer</button>`,
      '</form>',
    ].join('\n');
  });
  return [
    '<section id="try"><h2>Try it</h2>',
    `<p class="muted">Requests from this form carry <code>${SYNTHETIC_HEADER}: 1</code>: answered as usual, never captured, so they stay out of the drift checks.</p>`,
    forms.join('\n'),
    '</section>',
  ].join('\n');
}

function tryAnswer(tried: TryResult): string {
  const ok = tried.status >= 200 && tried.status < 300;
  return [
    '<section id="answer" class="answer">',
    `<h2>Answer from ${escapeHtml(tried.model)} v${escapeHtml(tried.version)}: <span class="badge ${ok ? 'ok' : 'bad'}" id="answer-status">${tried.status === 0 ? 'no answer' : tried.status}</span></h2>`,
    `<pre>${escapeHtml(tried.body)}</pre>`,
    '</section>',
  ].join('\n');
}

/** A one-row request for the version, from its signature and, when there is one, its reference profile. */
function sampleRequest(model: string, version: Version): string {
  const metadata = version.metadata as
    | { inputs?: { name: string; datatype: string; shape: number[] }[] }
    | undefined;
  if (!metadata?.inputs) return '{"inputs": []}';
  try {
    const { body } = syntheticRequest(
      { name: model, inputs: metadata.inputs, outputs: [] },
      { batch: 1, seed: 7, reference: version.reference },
    );
    const request = JSON.parse(body) as { inputs: { data: unknown[] }[] };
    for (const input of request.inputs) {
      input.data = input.data.map((value) =>
        typeof value === 'number' ? Math.round(value * 1000) / 1000 : value,
      );
    }
    return compactJson({ id: `console-${model}`, ...request });
  } catch {
    return '{"inputs": []}';
  }
}

function batchSection(runs: { key: string; summary: BatchSummary }[]): string {
  const rows = runs.map(({ summary }) => {
    const { total, ok, failed } = summary.counts;
    const status = summary.status;
    const cls = status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : 'wait';
    return [
      `<tr><td><code>${escapeHtml(summary.input.key)}</code></td>`,
      `<td>${escapeHtml(summary.model)}${summary.version ? ` v${escapeHtml(summary.version)}` : ''}</td>`,
      `<td><span class="badge ${cls}">${escapeHtml(status)}</span>${summary.error ? `<div class="reason">${escapeHtml(summary.error.message)}</div>` : ''}</td>`,
      `<td>${total.toLocaleString('en')} rows: ${ok.toLocaleString('en')} ok, ${failed.toLocaleString('en')} failed</td>`,
      `<td>${escapeHtml(summary.started_at)}</td>`,
      `<td>${escapeHtml(formatMs(summary.duration_ms))}${summary.rows_per_second ? ` (${summary.rows_per_second.toLocaleString('en')} rows/s)` : ''}</td>`,
      `<td>${summary.output ? `<code>${escapeHtml(summary.output.key)}</code>` : '–'}</td></tr>`,
    ].join('');
  });
  return [
    '<section id="batch"><h2>Batch runs</h2>',
    runs.length === 0
      ? '<p class="muted">None yet: <code>npm run batch -- .local/demo-models/iris/holdout.csv --model iris</code>.</p>'
      : `<table><thead><tr><th>input</th><th>model</th><th>status</th><th>progress</th><th>started</th><th>duration</th><th>output</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`,
    '</section>',
  ].join('\n');
}

function definitionList(rows: [string, string][], html = false): string {
  return `<dl>${rows.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${html ? value : escapeHtml(value)}</dd>`).join('')}</dl>`;
}

async function readJson(
  store: ObjectStore,
  key: string,
): Promise<{ value?: Record<string, unknown>; error?: string }> {
  const object = await store.get(key);
  if (object === undefined) return {};
  try {
    const value = JSON.parse(new TextDecoder().decode(object.body)) as unknown;
    return typeof value === 'object' && value !== null
      ? { value: value as Record<string, unknown> }
      : { error: 'not a JSON object' };
  } catch (error) {
    return { error: `not valid JSON (${(error as Error).message})` };
  }
}

function prettyJson(text: string): string {
  try {
    return compactJson(JSON.parse(text));
  } catch {
    return text;
  }
}

/** Indented JSON with arrays of plain values on one line (tensor data stays readable). */
function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\s+([^[\]{}]*?)\s+\]/g,
    (_match, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`,
  );
}

/** Text safe in HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:12px}h1{margin:8px 0;font-size:22px}h1 small{font-weight:400;color:#5b6475}
nav a{margin-right:12px}h2{margin-top:28px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
article.model{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 16px;margin:12px 0}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eceef2;vertical-align:top}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:#5b6475}dd{margin:0}
.badge{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600}
.ok{background:#dcf3e3;color:#17652f}.bad{background:#fbe0e0;color:#8a1c1c}.wait{background:#fdf1d6;color:#7a5300}.muted{color:#5b6475}
.reason{color:#8a1c1c;font-size:12px;max-width:420px}
form.try{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:8px 16px;margin:12px 0}
textarea{width:100%;font:12px/1.4 ui-monospace,monospace;box-sizing:border-box}
pre{background:#fff;border:1px solid #d8dce3;padding:8px;overflow:auto;max-height:360px;font-size:12px}
.answer{background:#eef4ff;border:1px solid #b9cdf5;border-radius:6px;padding:4px 16px;margin-top:16px}
footer{color:#5b6475;padding:24px 16px}code{font-size:12px}
`;
