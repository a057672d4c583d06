/**
 * Text helpers of the HTML report: escaping (every string that reaches the page goes through
 * `escapeHtml`) and number formatting that rounds, so that no value of a row can appear verbatim.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML element content and double- or single-quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b title="x">'); // '&lt;b title=&quot;x&quot;&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

/**
 * A number for display with 3 significant digits (integers up to 6 digits as they are), `—` for
 * null or non-finite values.
 *
 * @example
 * ```ts
 * formatNumber(0.123456); // '0.123'
 * formatNumber(1234.5678); // '1230'
 * formatNumber(0.0001234); // '1.23e-4'
 * formatNumber(42); // '42'
 * ```
 */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(3)));
}

/** A p-value: exponential below 0.001, otherwise 3 decimals. */
export function formatPValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  return value < 1e-3 ? value.toExponential(1) : value.toFixed(3);
}

/** A share as a percentage with one decimal. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${(value * 100).toFixed(1)} %`;
}

/** A duration in seconds as the largest sensible unit. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const abs = Math.abs(seconds);
  if (abs < 120) return `${Math.round(seconds)} s`;
  if (abs < 7200) return `${(seconds / 60).toFixed(1)} min`;
  if (abs < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}
