/**
 * Inline SVG line charts of the HTML report: ROC curves, reliability (calibration) diagrams and
 * the estimated-versus-realised accuracy per hour. Plain SVG, no script, no external resource.
 */
import type { EstimatedPerformanceSection } from '../../check/estimated-performance.ts';
import type { PerformanceCurves } from '../report-types.ts';
import { escapeHtml, formatNumber } from './format.ts';

/** Line colours of successive classes (the first is the product's blue). */
const COLOURS = [
  '#0969da',
  '#bf3989',
  '#1a7f37',
  '#9a6700',
  '#8250df',
  '#cf222e',
  '#0550ae',
  '#57606a',
  '#116329',
  '#953800',
];
const SIZE = 260;
const PAD = { left: 34, right: 10, top: 10, bottom: 30 };

/** A unit-square plot frame: axes 0–1, grid at 0.5, the diagonal, axis titles. */
function unitFrame(
  x: (v: number) => number,
  y: (v: number) => number,
  xTitle: string,
  yTitle: string,
): string {
  const ticks = [0, 0.5, 1]
    .map(
      (t) =>
        `<line class="grid" x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(1)}"></line><line class="grid" x1="${x(0)}" y1="${y(t)}" x2="${x(1)}" y2="${y(t)}"></line>` +
        `<text class="axis" x="${x(t) - 6}" y="${y(0) + 12}">${t}</text><text class="axis" x="4" y="${y(t) + 3}">${t}</text>`,
    )
    .join('');
  return [
    ticks,
    `<line class="base" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(0)}"></line>`,
    `<line class="base" x1="${x(0)}" y1="${y(0)}" x2="${x(0)}" y2="${y(1)}"></line>`,
    `<line class="diagonal" x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#afb8c1" stroke-dasharray="4 3"></line>`,
    `<text class="axis" x="${x(0.5) - 40}" y="${SIZE - 4}">${escapeHtml(xTitle)}</text>`,
    `<text class="axis" x="${x(0) + 4}" y="${y(1) + 10}">${escapeHtml(yTitle)}</text>`,
  ].join('');
}

function scales() {
  const x = (v: number) => +(PAD.left + (SIZE - PAD.left - PAD.right) * v).toFixed(1);
  const y = (v: number) => +(PAD.top + (SIZE - PAD.top - PAD.bottom) * (1 - v)).toFixed(1);
  return { x, y };
}

function legend(names: readonly string[], extra: (i: number) => string): string {
  return names
    .map(
      (name, i) =>
        `<span class="legend"><span class="key" style="background:${COLOURS[i % COLOURS.length]}"></span>${escapeHtml(name)}${escapeHtml(extra(i))}</span>`,
    )
    .join(' ');
}

/**
 * The ROC curves (one line per class) and the reliability diagram side by side.
 *
 * @example
 * ```ts
 * performanceCurvesHtml(report.performance.curves); // '<div class="grid-charts"><figure>…'
 * ```
 */
export function performanceCurvesHtml(curves: PerformanceCurves): string {
  const { x, y } = scales();
  const roc = curves.roc.filter((c) => c.points.length > 1);
  const calibration = curves.calibration.filter((c) => c.bins.length > 0);
  if (roc.length === 0 && calibration.length === 0) return '';
  const parts = ['<div class="grid-charts curves">'];
  if (roc.length > 0) {
    const lines = roc
      .map(
        (c, i) =>
          `<polyline class="roc-line" data-class="${escapeHtml(c.class)}" fill="none" stroke="${COLOURS[i % COLOURS.length]}" stroke-width="2" points="${c.points.map(([f, t]) => `${x(f)},${y(t)}`).join(' ')}"></polyline>`,
      )
      .join('');
    parts.push(
      '<figure>',
      `<svg class="roc-chart" viewBox="0 0 ${SIZE} ${SIZE}" role="img" aria-label="ROC curve on the joined outcomes">`,
      unitFrame(x, y, 'false positive rate', 'true positive rate'),
      lines,
      '</svg>',
      `<figcaption>ROC curve${roc.length > 1 ? 's (one class against the rest)' : ''} on the joined outcomes: ${legend(
        roc.map((c) => c.class),
        (i) => ` AUC ${formatNumber(roc[i]?.auc)}`,
      )}. The dashed diagonal is chance.</figcaption>`,
      '</figure>',
    );
  }
  if (calibration.length > 0) {
    const lines = calibration
      .map((c, i) => {
        const colour = COLOURS[i % COLOURS.length];
        const points = c.bins.map((b) => `${x(b.mean_predicted)},${y(b.observed)}`);
        const dots = c.bins
          .map(
            (b) =>
              `<circle class="calibration-point" cx="${x(b.mean_predicted)}" cy="${y(b.observed)}" r="3" fill="${colour}"><title>${escapeHtml(`${formatNumber(b.lower)}–${formatNumber(b.upper)}: ${b.count} rows, predicted ${formatNumber(b.mean_predicted)}, observed ${formatNumber(b.observed)}`)}</title></circle>`,
          )
          .join('');
        return `<polyline class="calibration-line" data-class="${escapeHtml(c.class)}" fill="none" stroke="${colour}" stroke-width="2" points="${points.join(' ')}"></polyline>${dots}`;
      })
      .join('');
    parts.push(
      '<figure>',
      `<svg class="calibration-chart" viewBox="0 0 ${SIZE} ${SIZE}" role="img" aria-label="calibration curve on the joined outcomes">`,
      unitFrame(x, y, 'predicted probability', 'observed share'),
      lines,
      '</svg>',
      `<figcaption>Calibration (reliability): observed share of the class against the mean predicted probability, in 10 bins: ${legend(
        calibration.map((c) => c.class),
        () => '',
      )}. On the diagonal, the probabilities mean what they say; the estimate without outcomes relies on it.</figcaption>`,
      '</figure>',
    );
  }
  parts.push('</div>');
  return parts.join('\n');
}

/**
 * Estimated accuracy per hour (line) inside its band (shaded), the degradation threshold
 * (dashed) and the realised accuracy on the outcomes joined so far (dots).
 *
 * @example
 * ```ts
 * hourlyChart(report.estimated_performance.hourly);
 * ```
 */
export function hourlyChart(hours: EstimatedPerformanceSection['hourly']): string {
  const width = 640;
  const height = 200;
  const left = 40;
  const bottom = 24;
  const values = hours
    .flatMap((h) => [
      h.estimated_accuracy,
      h.realized_accuracy,
      h.estimated_lower,
      h.estimated_upper,
      h.threshold,
    ])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  if (values.length === 0) return '';
  const lo = Math.max(0, Math.min(...values) - 0.02);
  const hi = Math.min(1, Math.max(...values) + 0.02);
  const x = (i: number) => left + ((width - left - 10) * i) / Math.max(1, hours.length - 1);
  const y = (v: number) => 10 + (height - bottom - 10) * (1 - (v - lo) / Math.max(1e-9, hi - lo));
  const at = (i: number, v: number) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  const series = (pick: (h: (typeof hours)[number]) => number | null) =>
    hours.map((h, i) => (pick(h) === null ? null : at(i, pick(h) as number))).filter((p) => p !== null);
  const withBand = hours
    .map((h, i) => ({ h, i }))
    .filter(({ h }) => h.estimated_lower !== null && h.estimated_upper !== null);
  const band =
    withBand.length > 1
      ? `<polygon class="band" fill="#0969da" fill-opacity="0.15" points="${[
          ...withBand.map(({ h, i }) => at(i, Math.max(lo, h.estimated_upper as number))),
          ...withBand.reverse().map(({ h, i }) => at(i, Math.max(lo, h.estimated_lower as number))),
        ].join(' ')}"></polygon>`
      : '';
  const threshold = series((h) => h.threshold);
  const dots = hours
    .map((h, i) =>
      h.realized_accuracy === null
        ? ''
        : `<circle class="realised" cx="${x(i).toFixed(1)}" cy="${y(h.realized_accuracy).toFixed(1)}" r="3"></circle>`,
    )
    .join('');
  const degraded = hours
    .map((h, i) =>
      h.degraded && h.estimated_accuracy !== null
        ? `<circle class="degraded-hour" cx="${x(i).toFixed(1)}" cy="${y(h.estimated_accuracy).toFixed(1)}" r="4" fill="#cf222e"></circle>`
        : '',
    )
    .join('');
  return [
    '<figure>',
    `<svg class="hourly-chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="estimated and realised accuracy per hour">`,
    `<line class="base" x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}"></line>`,
    `<text class="axis" x="2" y="${y(hi) + 4}">${escapeHtml(formatNumber(hi))}</text><text class="axis" x="2" y="${y(lo)}">${escapeHtml(formatNumber(lo))}</text>`,
    `<text class="axis" x="${left}" y="${height - 6}">${escapeHtml(hours[0]?.hour ?? '')}</text>`,
    hours.length > 1
      ? `<text class="axis" x="${width - 150}" y="${height - 6}">${escapeHtml(hours.at(-1)?.hour ?? '')}</text>`
      : '',
    band,
    threshold.length > 1
      ? `<polyline class="threshold" fill="none" stroke="#cf222e" stroke-width="1" stroke-dasharray="5 3" points="${threshold.join(' ')}"></polyline>`
      : '',
    `<polyline class="estimated" fill="none" stroke="#0969da" stroke-width="2" points="${series((h) => h.estimated_accuracy).join(' ')}"></polyline>`,
    dots,
    degraded,
    '</svg>',
    '<figcaption>Accuracy per hour: estimated without outcomes (line) within its band (shaded: ± 3 sampling errors at the hour’s size), degraded below the threshold (dashed; red points are degraded hours), realised on the outcomes joined so far (grey dots).</figcaption>',
    '</figure>',
  ].join('');
}
