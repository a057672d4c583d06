/**
 * `drift.html`: the drift report as one self-contained page. Inline CSS and SVG only: no script,
 * no font, no image or stylesheet to fetch (a Content-Security-Policy of `default-src 'none'`
 * says so to the browser), aggregates only, every string escaped.
 */
import { barChart, distributionOf } from './html/charts.ts';
import { hourlyChart, performanceCurvesHtml } from './html/curves.ts';
import { escapeHtml, formatDuration, formatNumber, formatPercent, formatPValue } from './html/format.ts';
import type {
  ColumnDrift,
  DriftReport,
  MetricValues,
  PerformanceSection,
  ReportedTest,
} from './report-types.ts';
import { rolloutSection } from './rollout-section.ts';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}h3{font-size:14px;margin:0 0 4px}
.meta{color:#59636e;margin:0 0 16px}
.verdict{display:inline-block;font-weight:600;font-size:16px;padding:6px 12px;border-radius:6px;margin:4px 0 12px}
.v-ok{background:#dafbe1;color:#116329}.v-warning{background:#fff8c5;color:#7d4e00}
.v-drift,.v-degraded,.v-fail{background:#ffebe9;color:#a40e26}.v-insufficient_data,.v-no_reference,.v-not_available{background:#eaeef2;color:#424a53}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:10px 12px}
.card .label{color:#59636e;font-size:12px}.card .value{font-size:18px;font-weight:600}
table{border-collapse:collapse;background:#fff;border:1px solid #d1d9e0;font-variant-numeric:tabular-nums}
th,td{padding:5px 9px;border-bottom:1px solid #eaeef2;text-align:right}th{background:#f6f8fa;font-weight:600}
td:first-child,th:first-child{text-align:left}
.grid-charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}
figure{margin:0;background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:10px}
figcaption{font-size:12px;color:#59636e;margin-top:4px}
figure svg{display:block;width:100%;height:auto}svg .ref{fill:#afb8c1}svg .cur{fill:#0969da}svg .grid{stroke:#eaeef2}svg .base{stroke:#818b98}
svg .axis{font-size:10px;fill:#59636e}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px;vertical-align:middle}.key.ref{background:#afb8c1}.key.cur{background:#0969da}
ul.warnings{background:#fff8c5;border:1px solid #d4a72c;border-radius:8px;padding:10px 10px 10px 28px}
footer{color:#59636e;font-size:12px;margin-top:32px}
td.q-fail{color:#a40e26;font-weight:600}td.q-warning{color:#7d4e00}svg .realised{fill:#59636e}
.legend{white-space:nowrap}.legend .key{margin-left:2px}
ol.attention{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:10px 10px 10px 32px}
ol.attention li{margin:2px 0}ol.attention a{color:inherit}
.calibrated{font-size:11px;color:#59636e}
`;

/**
 * Renders a drift report as a standalone HTML page.
 *
 * @example
 * ```ts
 * await store.put(report.keys.html, renderDriftHtml(report), { contentType: 'text/html; charset=utf-8' });
 * ```
 */
export function renderDriftHtml(report: DriftReport): string {
  const title = `Drift report — ${report.model}${report.version ? ` version ${report.version}` : ''}`;
  // The analyses whose verdict is a failure come first, then warnings, then the rest.
  const analyses = byVerdict([
    { verdict: report.data_drift.verdict, html: featureTable(report) },
    { verdict: report.data_quality.verdict, html: dataQualitySection(report) },
    { verdict: report.multivariate_drift.verdict, html: multivariateSection(report) },
    { verdict: report.prediction_drift?.verdict ?? 'ok', html: predictionSection(report) },
    { verdict: report.performance.verdict, html: performanceSection(report.performance) },
    { verdict: report.estimated_performance.verdict, html: estimatedSection(report) },
  ]).map((section) => section.html);
  const sections = [
    header(report),
    summaryCards(report),
    alerts(report),
    attentionSection(report),
    ...analyses,
    featureCharts(report),
    outcomeSection(report),
    otherVersions(report),
    rolloutSection(report.rollout),
    footer(report),
  ];
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body><main>',
    ...sections,
    '</main></body></html>',
    '',
  ].join('\n');
}

function header(report: DriftReport): string {
  const verdictText: Record<string, string> = {
    ok: 'no data drift',
    warning: 'warning: some features drift',
    drift: 'DATA DRIFT DETECTED',
    insufficient_data: 'insufficient data',
    no_reference: 'no reference profile',
  };
  return [
    `<h1>Drift report: ${escapeHtml(report.model)}${report.version ? ` <small>version ${escapeHtml(report.version)}</small>` : ''}</h1>`,
    `<p class="meta">Window ${escapeHtml(report.window.start)} → ${escapeHtml(report.window.end)} (${escapeHtml(formatNumber(report.window.hours))} h) · generated ${escapeHtml(report.generated_at)}${report.reference ? ` · reference ${escapeHtml(report.reference.source)} (${report.reference.rows} rows, ${escapeHtml(report.reference.created_at)})${report.reference.compared === 'input_summaries' ? ' · inputs compared by their per-prediction summaries (mean, std, min, max, L2 norm, NaN share of each input tensor)' : ''}` : ''}</p>`,
    `<div id="verdict" class="verdict ${verdictClass(report.verdict)}">Dataset verdict: ${escapeHtml(verdictText[report.verdict] ?? report.verdict)}</div>`,
    report.data_drift.reason ? `<p>${escapeHtml(report.data_drift.reason)}</p>` : '',
  ].join('\n');
}

function summaryCards(report: DriftReport): string {
  const d = report.data_drift;
  const cards: [string, string][] = [
    ['Predictions', String(report.counts.predictions)],
    ['Drifted features', d.tested > 0 ? `${d.drifted} of ${d.tested}` : '—'],
    ['Largest PSI', formatNumber(d.max_psi)],
    ['Data quality', report.data_quality.verdict.replace('_', ' ')],
    ['Multivariate drift', report.multivariate_drift.verdict.replace('_', ' ')],
    ['Prediction drift', report.prediction_drift?.verdict.replace('_', ' ') ?? '—'],
    ['Performance', report.performance.verdict.replace('_', ' ')],
    ['Outcome coverage', formatPercent(report.outcomes.coverage)],
    ['Outcome delay (median)', formatDuration(report.outcomes.delay_seconds.median)],
  ];
  return `<div class="cards">${cards
    .map(
      ([label, value]) =>
        `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(value)}</div></div>`,
    )
    .join('')}</div>`;
}

function alerts(report: DriftReport): string {
  const parts: string[] = [];
  if (report.alert.raised) {
    parts.push(
      `<p><span class="badge v-drift">alert</span> ModelDriftDetected raised: ${escapeHtml(report.alert.reasons.join(', ').replaceAll('_', ' '))}</p>`,
    );
  }
  if (report.warnings.length > 0) {
    parts.push(
      `<ul class="warnings">${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`,
    );
  }
  return parts.join('\n');
}

interface AttentionItem {
  level: 'fail' | 'warning';
  anchor: string;
  text: string;
}

/**
 * Everything that drifted, failed or degraded, then the warnings, each linked to its section: the
 * first thing a reader sees under the verdict.
 */
function attentionSection(report: DriftReport): string {
  const items: AttentionItem[] = [];
  const add = (level: AttentionItem['level'], anchor: string, text: string) =>
    items.push({ level, anchor, text });
  for (const f of byVerdict(report.data_drift.features)) {
    if (f.verdict !== 'drift' && f.verdict !== 'warning') continue;
    const t = f.test;
    const how = t
      ? `${t.name} ${t.statistic === null ? '∞' : formatNumber(t.statistic)}${t.calibration ? ` (calibrated band up to ${formatNumber(t.calibration.upper)})` : t.adjusted_p_value !== undefined ? `, adjusted p ${formatPValue(t.adjusted_p_value)}` : ` (threshold ${formatNumber(t.threshold)})`}`
      : '';
    add(
      f.verdict === 'drift' ? 'fail' : 'warning',
      'data-drift',
      `feature ${f.name} ${f.verdict === 'drift' ? 'drifts' : 'near drift'}: ${how}`,
    );
  }
  for (const f of report.data_quality.features) {
    if (f.verdict === 'ok') continue;
    const checks = f.checks
      .filter((c) => c.verdict !== 'ok')
      .map(
        (c) =>
          `${c.name.replaceAll('_', ' ')} ${formatPercent(c.share)} (limit ${formatPercent(c.threshold)})`,
      )
      .join(', ');
    add(f.verdict, 'data-quality', `data quality of ${f.name}: ${checks}`);
  }
  const m = report.multivariate_drift;
  if (m.verdict === 'drift') {
    add(
      'fail',
      'multivariate-drift',
      `multivariate drift: mean reconstruction error ${formatNumber(m.statistic)} outside ${formatNumber(m.lower)} – ${formatNumber(m.upper)}`,
    );
  }
  const p = report.prediction_drift;
  if (p && (p.verdict === 'drift' || p.verdict === 'warning')) {
    add(
      p.verdict === 'drift' ? 'fail' : 'warning',
      'prediction-drift',
      `predicted ${p.kind === 'label' ? 'labels' : 'scores'}: ${p.verdict}`,
    );
  }
  const perf = report.performance;
  if (perf.verdict === 'degraded' || perf.verdict === 'warning') {
    const rule = perf.rule;
    add(
      perf.verdict === 'degraded' ? 'fail' : 'warning',
      'performance',
      `performance ${perf.verdict}${rule ? `: ${rule.metric.replaceAll('_', ' ')} ${formatNumber(perf.metrics[rule.metric])} against ${formatNumber(perf.reference?.[rule.metric])} on the reference` : ''}`,
    );
  }
  const e = report.estimated_performance;
  for (const [name, metric] of Object.entries(e.metrics)) {
    if (metric?.degraded) {
      add(
        'fail',
        'estimated-performance',
        `estimated ${name.replaceAll('_', ' ')} ${formatNumber(metric.estimate)} below its threshold ${formatNumber(metric.threshold)} (without outcomes)`,
      );
    }
  }
  if (items.length === 0) {
    return '<p id="attention" class="attention-none">Nothing drifted, failed or degraded in this window.</p>';
  }
  const ordered = [...items.filter((i) => i.level === 'fail'), ...items.filter((i) => i.level === 'warning')];
  return [
    '<h2 id="attention">Needs attention</h2>',
    '<ol class="attention">',
    ...ordered.map(
      (i) =>
        `<li class="att-${i.level}"><span class="badge ${i.level === 'fail' ? 'v-fail' : 'v-warning'}">${i.level === 'fail' ? 'failing' : 'warning'}</span> <a href="#${i.anchor}">${escapeHtml(i.text)}</a></li>`,
    ),
    '</ol>',
  ].join('\n');
}

function featureTable(report: DriftReport): string {
  const features = report.data_drift.features;
  if (features.length === 0) return '';
  const d = report.data_drift;
  const rows = byVerdict(features).map(
    (f) =>
      `<tr><td>${escapeHtml(f.name)}</td><td>${f.kind}</td>${testCells(f.test)}<td>${escapeHtml(formatNumber(f.psi?.statistic))}</td><td>${badge(f.verdict)}</td></tr>`,
  );
  return [
    '<h2 id="data-drift">Data drift by feature</h2>',
    `<p>${d.drifted} of ${d.tested} features drift (share ${escapeHtml(formatPercent(d.share))}; dataset drift from ${escapeHtml(formatPercent(d.drift_share))}); p-values corrected with ${escapeHtml(d.correction)}.</p>`,
    '<table class="features"><thead><tr><th>feature</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th><th>adjusted p</th><th>threshold</th><th>PSI</th><th>verdict</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

const SEVERITY: Record<string, number> = { drift: 0, fail: 0, degraded: 0, warning: 1 };

/** Drifted and failing items first, then warnings, then the rest, each group in its original order. */
function byVerdict<T extends { verdict: string }>(items: readonly T[]): T[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => (SEVERITY[a.item.verdict] ?? 2) - (SEVERITY[b.item.verdict] ?? 2) || a.index - b.index)
    .map((entry) => entry.item);
}

function multivariateSection(report: DriftReport): string {
  const m = report.multivariate_drift;
  const detail =
    m.statistic === null
      ? escapeHtml(m.reason ?? '')
      : `Mean reconstruction error ${escapeHtml(formatNumber(m.statistic))} against the reference's ${escapeHtml(formatNumber(m.reference_mean))} (expected between ${escapeHtml(formatNumber(m.lower))} and ${escapeHtml(formatNumber(m.upper))} for ${m.rows} rows), PCA on ${m.features} numeric features with ${m.components} components (${escapeHtml(formatPercent(m.explained_variance ?? 0))} of the variance). It rises when the features' joint distribution (their correlations) changes, even with unchanged marginals.`;
  return [`<h2 id="multivariate-drift">Multivariate drift ${badge(m.verdict)}</h2>`, `<p>${detail}</p>`].join(
    '\n',
  );
}

function dataQualitySection(report: DriftReport): string {
  const q = report.data_quality;
  if (q.features.length === 0) return '';
  const share = (name: string, f: (typeof q.features)[number]) => {
    const check = f.checks.find((c) => c.name === name);
    if (check === undefined) return '<td>—</td>';
    const text = `${check.count} (${formatPercent(check.share)})`;
    const limit = `fails above ${formatPercent(check.threshold)}${check.calibrated ? ' (calibrated on the reference chunks)' : ''}`;
    return `<td class="q-${check.verdict}" title="${escapeHtml(limit)}">${escapeHtml(text)}${check.calibrated ? ' <span class="calibrated">calibrated</span>' : ''}</td>`;
  };
  const rows = byVerdict(q.features).map((f) => {
    const notes = [
      f.type_mismatch_kind === null ? '' : `${f.type_mismatch_kind} where values were expected`,
      f.new_category_examples.length > 0 ? `new: ${f.new_category_examples.slice(0, 5).join(', ')}` : '',
    ]
      .filter((n) => n !== '')
      .join('; ');
    return `<tr><td>${escapeHtml(f.name)}</td><td>${f.kind}</td>${share('missing', f)}${share('type_mismatch', f)}${share('out_of_range', f)}${share('new_category', f)}<td>${badge(f.verdict)}</td><td>${escapeHtml(notes)}</td></tr>`;
  });
  const t = q.thresholds;
  return [
    `<h2 id="data-quality">Data quality ${badge(q.verdict)}</h2>`,
    `<p>${q.rows} rows. A check fails above: missing ${escapeHtml(formatPercent(t.missing))} more than the reference, type mismatches ${escapeHtml(formatPercent(t.type_mismatch))}, outside the reference range ${escapeHtml(formatPercent(t.out_of_range))}, new categories ${escapeHtml(formatPercent(t.new_category))}.${q.reason ? ` ${escapeHtml(q.reason)}.` : ''}</p>`,
    '<table class="quality"><thead><tr><th>feature</th><th>type</th><th>missing</th><th>type mismatches</th><th>out of range</th><th>new categories</th><th>verdict</th><th>examples</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function estimatedSection(report: DriftReport): string {
  const e = report.estimated_performance;
  const parts = [
    `<h2 id="estimated-performance">Estimated performance (CBPE, without outcomes): ${badge(e.verdict)}</h2>`,
  ];
  if (e.reason) parts.push(`<p>${escapeHtml(e.reason)}</p>`);
  // Degraded estimates first.
  const names = (Object.keys(e.metrics) as (keyof typeof e.metrics)[]).sort(
    (a, b) => Number(e.metrics[b]?.degraded ?? false) - Number(e.metrics[a]?.degraded ?? false),
  );
  if (names.length > 0) {
    parts.push(
      `<p>${e.rows} predictions; probabilities ${e.calibrated ? 'recalibrated on the reference (isotonic)' : 'used as they are (calibrated on the reference)'}. Band: estimate ± 3 sampling errors from reference chunks of ${e.reference_chunk_size ?? '—'} rows; degraded below the threshold (${e.thresholds === 'calibrated' ? 'calibrated: the reference chunks’ mean − 3 sampling errors' : 'fixed: the reference value minus the rule’s drop'}; watched: ${escapeHtml(e.metric.replaceAll('_', ' '))}).</p>`,
      '<table class="estimated"><thead><tr><th>metric</th><th>estimated</th><th>band</th><th>threshold</th><th>realised</th><th>verdict</th></tr></thead><tbody>',
      ...names.map((name) => {
        const m = e.metrics[name];
        if (m === undefined) return '';
        return `<tr><td>${escapeHtml(name.replaceAll('_', ' '))}</td><td>${escapeHtml(formatNumber(m.estimate))}</td><td>${escapeHtml(`${formatNumber(m.lower)} – ${formatNumber(m.upper)}`)}</td><td>${escapeHtml(formatNumber(m.threshold))}</td><td>${escapeHtml(formatNumber(m.realized))}</td><td>${badge(m.degraded ? 'degraded' : 'ok')}</td></tr>`;
      }),
      '</tbody></table>',
    );
  }
  if (e.hourly.length > 1) parts.push(hourlyChart(e.hourly), hourlyTable(e.hourly));
  return parts.join('\n');
}

/** Hours shown in the estimated-versus-realised table (the most recent). */
const RECENT_HOURS = 24;

/** The most recent hours: estimated accuracy with its band and threshold beside the realised one. */
function hourlyTable(hours: DriftReport['estimated_performance']['hourly']): string {
  const recent = hours.slice(-RECENT_HOURS).reverse();
  return [
    `<table class="hourly"><thead><tr><th>hour (UTC)</th><th>predictions</th><th>estimated accuracy</th><th>band</th><th>threshold</th><th>outcomes joined</th><th>realised accuracy</th><th>verdict</th></tr></thead><tbody>`,
    ...recent.map(
      (h) =>
        `<tr><td>${escapeHtml(h.hour.slice(0, 13).replace('T', ' '))}:00</td><td>${h.predictions}</td><td>${escapeHtml(formatNumber(h.estimated_accuracy))}</td><td>${escapeHtml(`${formatNumber(h.estimated_lower)} – ${formatNumber(h.estimated_upper)}`)}</td><td>${escapeHtml(formatNumber(h.threshold))}</td><td>${h.joined}</td><td>${escapeHtml(formatNumber(h.realized_accuracy))}</td><td>${badge(h.estimated_accuracy === null ? 'not_available' : h.degraded ? 'degraded' : 'ok')}</td></tr>`,
    ),
    '</tbody></table>',
  ].join('\n');
}

function testCells(test: ReportedTest | null): string {
  if (test === null) return '<td>—</td><td>—</td><td>—</td><td>—</td><td>—</td>';
  return [
    `<td>${escapeHtml(test.name)}</td>`,
    `<td>${escapeHtml(test.statistic === null ? '∞' : formatNumber(test.statistic))}</td>`,
    `<td>${escapeHtml(formatPValue(test.p_value))}</td>`,
    `<td>${escapeHtml(formatPValue(test.adjusted_p_value))}</td>`,
    test.calibration
      ? `<td title="${escapeHtml(`reference chunks: mean ${formatNumber(test.calibration.mean)}, std ${formatNumber(test.calibration.std)} over ${test.calibration.chunks} chunks of ${formatNumber(test.calibration.chunk_size)}, × ${formatNumber(test.calibration.scale)} for this window; fixed threshold ${formatNumber(test.threshold)} not used`)}">${escapeHtml(`≤ ${formatNumber(test.calibration.upper)}`)} <span class="calibrated">calibrated</span></td>`
      : `<td>${escapeHtml(formatNumber(test.threshold))}</td>`,
  ].join('');
}

function featureCharts(report: DriftReport): string {
  const features = report.data_drift.features;
  if (features.length === 0) return '';
  return [
    `<h2>Distributions: reference <span class="key ref"></span> current <span class="key cur"></span></h2>`,
    '<div class="grid-charts">',
    ...byVerdict(features).map((f) => chartFigure(f, 'feature-chart')),
    '</div>',
  ].join('\n');
}

function chartFigure(column: ColumnDrift, className: string): string {
  const caption =
    column.reference.kind === 'numeric' && column.current.kind === 'numeric'
      ? `mean ${formatNumber(column.reference.mean)} → ${formatNumber(column.current.mean)}, std ${formatNumber(column.reference.std)} → ${formatNumber(column.current.std)}, missing ${column.current.missing}`
      : `${column.reference.kind === 'categorical' ? column.reference.distinct : 0} reference categories, ${column.current.kind === 'categorical' ? column.current.distinct : 0} current, missing ${column.current.missing}`;
  const test = column.test
    ? `${column.test.name} ${column.test.statistic === null ? '∞' : formatNumber(column.test.statistic)}`
    : (column.reason ?? 'not tested');
  return [
    '<figure>',
    `<h3>${escapeHtml(column.name)} ${badge(column.verdict)}</h3>`,
    barChart(distributionOf(column.reference, column.current), {
      className,
      title: `${column.name}: reference and current distributions`,
      feature: column.name,
    }),
    `<figcaption>${escapeHtml(`${test}; ${caption}`)}</figcaption>`,
    '</figure>',
  ].join('\n');
}

function predictionSection(report: DriftReport): string {
  const p = report.prediction_drift;
  if (p === null) return '';
  const title = p.kind === 'label' ? 'Predicted labels' : 'Predicted scores';
  if (p.drift === null) {
    return `<h2 id="prediction-drift">${title}</h2><p>${badge(p.verdict)} ${escapeHtml(p.reason ?? '')}</p>`;
  }
  return [
    `<h2 id="prediction-drift">${title}: ${badge(p.verdict)}</h2>`,
    '<div class="grid-charts">',
    chartFigure(p.drift, 'prediction-chart'),
    '</div>',
  ].join('\n');
}

function performanceSection(performance: PerformanceSection): string {
  const parts = [`<h2 id="performance">Performance: ${badge(performance.verdict)}</h2>`];
  if (performance.reason) parts.push(`<p>${escapeHtml(performance.reason)}</p>`);
  const names = new Set([...Object.keys(performance.metrics), ...Object.keys(performance.reference ?? {})]);
  if (names.size > 0) {
    parts.push(
      `<p>${performance.rows} predictions joined with outcomes (at least ${performance.min_outcomes} needed).${ruleText(performance)}</p>`,
      '<table class="performance"><thead><tr><th>metric</th><th>reference</th><th>current</th><th>change</th></tr></thead><tbody>',
      ...[...names].map(
        (name) =>
          `<tr><td>${escapeHtml(name.replaceAll('_', ' '))}</td><td>${cell(performance.reference, name)}</td><td>${cell(performance.metrics, name)}</td><td>${cell(performance.deltas, name, true)}</td></tr>`,
      ),
      '</tbody></table>',
    );
  }
  const confusion = performance.classification;
  if (confusion && confusion.confusion.length > 0 && confusion.confusion.length <= 20) {
    const labels = confusion.perClass.map((c) => performance.labels?.[c.label] ?? String(c.label));
    parts.push(
      '<h3>Confusion matrix (rows: actual, columns: predicted)</h3>',
      `<table class="confusion"><thead><tr><th></th>${labels.map((l) => `<th>${escapeHtml(l)}</th>`).join('')}</tr></thead><tbody>`,
      ...confusion.confusion.map(
        (row, i) =>
          `<tr><th>${escapeHtml(labels[i] ?? String(i))}</th>${row.map((n) => `<td>${n}</td>`).join('')}</tr>`,
      ),
      '</tbody></table>',
    );
  }
  if (performance.curves) parts.push(performanceCurvesHtml(performance.curves));
  return parts.join('\n');
}

function ruleText(performance: PerformanceSection): string {
  const rule = performance.rule;
  if (rule === null) return '';
  const limit =
    rule.max_drop !== null
      ? `by more than ${formatNumber(rule.max_drop)}`
      : `by more than ${formatPercent(rule.max_relative_drop)}`;
  return escapeHtml(` Degraded when ${rule.metric.replaceAll('_', ' ')} gets worse ${limit}.`);
}

function outcomeSection(report: DriftReport): string {
  const o = report.outcomes;
  const rows: [string, string][] = [
    ['outcome records read', String(o.records)],
    ['joined with a prediction', String(o.joined)],
    ['coverage (joined / predictions)', formatPercent(o.coverage)],
    ['duplicates (latest kept)', String(o.duplicates)],
    ['unmatched (unknown id or outside the window)', String(o.unmatched)],
    ['invalid lines', String(o.invalid)],
    ['received after the window (late)', String(o.late)],
    [
      'delay median / p90',
      `${formatDuration(o.delay_seconds.median)} / ${formatDuration(o.delay_seconds.p90)}`,
    ],
  ];
  return [
    '<h2>Outcomes</h2>',
    '<table class="outcomes"><tbody>',
    ...rows.map(([label, value]) => `<tr><td>${escapeHtml(label)}</td><td>${escapeHtml(value)}</td></tr>`),
    '</tbody></table>',
  ].join('\n');
}

function otherVersions(report: DriftReport): string {
  if (report.other_versions.length === 0) return '';
  return [
    '<h2>Other versions with traffic</h2>',
    '<table><thead><tr><th>version</th><th>predictions</th><th>data drift</th><th>drifted features</th><th>performance</th></tr></thead><tbody>',
    ...report.other_versions.map(
      (v) =>
        `<tr><td>${escapeHtml(v.version)}</td><td>${v.predictions}</td><td>${badge(v.verdict)}</td><td>${escapeHtml(v.drifted_features.join(', ') || '—')}</td><td>${badge(v.performance_verdict)}</td></tr>`,
    ),
    '</tbody></table>',
  ].join('\n');
}

function footer(report: DriftReport): string {
  const s = report.settings;
  const thresholds = Object.entries(s.thresholds)
    .map(([name, value]) => `${name} ${formatNumber(value)}`)
    .join(', ');
  return `<footer>Thresholds: ${escapeHtml(thresholds)}; warning from ${escapeHtml(formatNumber(s.warning_ratio))} of the way; at least ${s.min_predictions} predictions and ${s.min_outcomes} outcomes. Aggregates only: no capture record is copied into this report. Report ${escapeHtml(report.keys.json)} (schema ${report.schema}).</footer>`;
}

function cell(values: MetricValues | null, name: string, signed = false): string {
  const value = values?.[name];
  if (value === null || value === undefined) return '—';
  const text = formatNumber(value);
  return escapeHtml(signed && value > 0 ? `+${text}` : text);
}

function badge(verdict: string): string {
  return `<span class="badge ${verdictClass(verdict)}">${escapeHtml(verdict.replace('_', ' '))}</span>`;
}

function verdictClass(verdict: string): string {
  return `v-${verdict.replace(/[^a-z_]/g, '')}`;
}
