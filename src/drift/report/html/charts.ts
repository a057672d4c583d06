/**
 * Inline SVG charts of the HTML report: reference against current distributions as grouped bars
 * of proportions. Plain SVG, no script, no external resource.
 */
import type { ColumnSummary } from '../report-types.ts';
import { escapeHtml, formatNumber } from './format.ts';

const WIDTH = 420;
const HEIGHT = 170;
const MARGIN = { top: 12, right: 14, bottom: 30, left: 40 };
/** Smallest distance between two axis labels, in SVG units. */
const MIN_TICK_GAP = 56;
/** Categories drawn before the rest is pooled. */
const MAX_BARS = 12;

/** Bars of one chart: a label per group, reference and current proportions. */
export interface Distribution {
  labels: string[];
  reference: number[];
  current: number[];
  /** Tick labels under group boundaries (numeric histograms) instead of one label per group. */
  edges?: string[];
}

/**
 * Reference and current proportions over the same groups: the reference histogram's bins (plus
 * below/above its range when anything falls there) for numeric columns, the categories for
 * categorical ones (the most frequent, the rest pooled as "other").
 *
 * @example
 * ```ts
 * distributionOf(feature.reference, feature.current).labels; // ['bin 1', …] or ['red', 'blue', 'other']
 * ```
 */
export function distributionOf(reference: ColumnSummary, current: ColumnSummary): Distribution {
  if (reference.kind === 'numeric' && current.kind === 'numeric') {
    const r = reference.histogram;
    const c = current.histogram;
    const labels = r.counts.map((_, i) => `${formatNumber(r.edges[i])} to ${formatNumber(r.edges[i + 1])}`);
    const ref = [...r.counts];
    const cur = r.counts.map((_, i) => c.counts[i] ?? 0);
    const edges = r.edges.map((edge) => formatNumber(edge));
    if (r.below + c.below > 0) {
      labels.unshift(`below ${formatNumber(r.edges[0])}`);
      ref.unshift(r.below);
      cur.unshift(c.below);
      edges.unshift('');
    }
    if (r.above + c.above > 0) {
      labels.push(`above ${formatNumber(r.edges.at(-1))}`);
      ref.push(r.above);
      cur.push(c.above);
      edges.push('');
    }
    return { labels, reference: proportions(ref), current: proportions(cur), edges };
  }
  const counts = new Map<string, { reference: number; current: number }>();
  const add = (summary: ColumnSummary, side: 'reference' | 'current') => {
    if (summary.kind !== 'categorical') return;
    summary.categories.forEach((name, i) => {
      const entry = counts.get(name) ?? { reference: 0, current: 0 };
      entry[side] += summary.counts[i] ?? 0;
      counts.set(name, entry);
    });
  };
  add(reference, 'reference');
  add(current, 'current');
  const ranked = [...counts].sort((a, b) => b[1].reference + b[1].current - (a[1].reference + a[1].current));
  const shown = ranked.slice(0, MAX_BARS);
  let otherRef = reference.kind === 'categorical' ? reference.other : 0;
  let otherCur = current.kind === 'categorical' ? current.other : 0;
  for (const [, entry] of ranked.slice(MAX_BARS)) {
    otherRef += entry.reference;
    otherCur += entry.current;
  }
  const labels = shown.map(([name]) => name);
  const ref = shown.map(([, entry]) => entry.reference);
  const cur = shown.map(([, entry]) => entry.current);
  if (otherRef + otherCur > 0) {
    labels.push('(other)');
    ref.push(otherRef);
    cur.push(otherCur);
  }
  return { labels, reference: proportions(ref), current: proportions(cur) };
}

/**
 * A grouped bar chart (reference grey, current blue) as an `<svg>` element string. Every text in
 * it is escaped; each bar carries a `<title>` with its group and share, shown as a tooltip.
 *
 * @example
 * ```ts
 * barChart(distributionOf(ref, cur), { className: 'feature-chart', title: 'age', feature: 'age' });
 * ```
 */
export function barChart(
  distribution: Distribution,
  options: { className: string; title: string; feature: string },
): string {
  const { labels, reference, current } = distribution;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const groups = Math.max(1, labels.length);
  const groupWidth = plotWidth / groups;
  const barWidth = Math.max(1, (groupWidth * 0.8) / 2);
  const max = Math.max(0.0001, ...reference, ...current);
  const y = (value: number) => MARGIN.top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [];
  parts.push(
    `<svg class="${escapeHtml(options.className)}" data-feature="${escapeHtml(options.feature)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(options.title)}">`,
    `<title>${escapeHtml(options.title)}</title>`,
  );
  // Horizontal grid at 0, half and the maximum share.
  for (const fraction of [0, 0.5, 1]) {
    const yy = round(y(max * fraction));
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${yy}" y2="${yy}"/>`,
      `<text class="axis" x="${MARGIN.left - 4}" y="${yy + 3}" text-anchor="end">${escapeHtml(`${Math.round(max * fraction * 100)}%`)}</text>`,
    );
  }
  labels.forEach((label, i) => {
    const x0 = MARGIN.left + i * groupWidth + groupWidth * 0.1;
    const bars: [string, number, number][] = [
      ['ref', reference[i] ?? 0, x0],
      ['cur', current[i] ?? 0, x0 + barWidth],
    ];
    for (const [side, value, x] of bars) {
      const top = round(y(value));
      const height = round(MARGIN.top + plotHeight - top);
      const who = side === 'ref' ? 'reference' : 'current';
      parts.push(
        `<rect class="${side}" x="${round(x)}" y="${top}" width="${round(barWidth)}" height="${height}"><title>${escapeHtml(`${label} — ${who} ${(value * 100).toFixed(1)}%`)}</title></rect>`,
      );
    }
  });
  const baseline = MARGIN.top + plotHeight;
  if (distribution.edges) {
    // Numeric bins: edge values under some boundaries, the last one always, never closer than
    // MIN_TICK_GAP so the labels do not overlap.
    const positions = distribution.edges
      .map((edge, i) => ({ edge, x: MARGIN.left + i * groupWidth }))
      .filter((tick) => tick.edge !== '');
    const last = positions.at(-1);
    let previous = Number.NEGATIVE_INFINITY;
    for (const tick of positions) {
      const isLast = tick === last;
      const crowded =
        tick.x - previous < MIN_TICK_GAP || (last !== undefined && last.x - tick.x < MIN_TICK_GAP);
      if (!isLast && crowded) continue;
      previous = tick.x;
      // The last label ends at its boundary so it stays inside the chart.
      const anchor = isLast && tick.x > WIDTH - MARGIN.right - 20 ? 'end' : 'middle';
      parts.push(
        `<text class="axis" x="${round(tick.x)}" y="${baseline + 14}" text-anchor="${anchor}">${escapeHtml(tick.edge)}</text>`,
      );
    }
  } else {
    labels.forEach((label, i) => {
      const x = round(MARGIN.left + (i + 0.5) * groupWidth);
      const short = label.length > 10 ? `${label.slice(0, 9)}…` : label;
      parts.push(
        `<text class="axis" x="${x}" y="${baseline + 14}" text-anchor="middle">${escapeHtml(short)}</text>`,
      );
    });
  }
  parts.push(
    `<line class="base" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${baseline}" y2="${baseline}"/>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

function proportions(counts: readonly number[]): number[] {
  let total = 0;
  for (const count of counts) total += count;
  return counts.map((count) => (total > 0 ? count / total : 0));
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
