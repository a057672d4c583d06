/** Result rows of the benchmark suite and their markdown rendering. */
import type { Summary } from './common.ts';

export interface Figure {
  /** Median and spread of the measured values. */
  summary: Summary;
  unit: string;
}

export interface Row {
  section: string;
  what: string;
  ours?: Figure;
  baseline?: Figure;
  baselineName?: string;
  /** How the ratio is read, e.g. `handler/raw` or `naive/ours`. */
  ratioName?: string;
  ratio?: number;
  target?: string;
  /** undefined when the row is reported without a target. */
  met?: boolean;
  note?: string;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toFixed(0);
  if (abs >= 100) return value.toFixed(1);
  if (abs >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

export function formatFigure(figure: Figure | undefined): string {
  if (figure === undefined) return '–';
  const { median, p10, p90, n } = figure.summary;
  const spread = n > 1 ? ` (${formatNumber(p10)}–${formatNumber(p90)})` : '';
  return `${formatNumber(median)} ${figure.unit}${spread}`;
}

export function markdownTable(rows: readonly Row[]): string {
  const lines = [
    '| section | what | ours | baseline | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const baseline =
      row.baseline === undefined
        ? '–'
        : `${row.baselineName ? `${row.baselineName}: ` : ''}${formatFigure(row.baseline)}`;
    const ratio =
      row.ratio === undefined ? '–' : `${row.ratioName ? `${row.ratioName} ` : ''}${formatNumber(row.ratio)}`;
    const met = row.met === undefined ? 'report' : row.met ? 'yes' : '**no**';
    const what = row.note ? `${row.what} <br><sub>${row.note}</sub>` : row.what;
    lines.push(
      `| ${row.section} | ${what} | ${formatFigure(row.ours)} | ${baseline} | ${ratio} | ${row.target ?? '–'} | ${met} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
