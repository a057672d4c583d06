/**
 * The rollout section of the HTML drift report: each version of the window with its role, traffic
 * share, predictions and realized performance, the shadows' agreement with the primary, and the
 * verdict of each challenger with its test.
 */
import type { RolloutComparison, RolloutResult } from '../check/rollout.ts';
import { escapeHtml, formatNumber, formatPercent, formatPValue } from './html/format.ts';

const TEST_NAMES: Record<RolloutComparison['test'], string> = {
  mcnemar_exact: "McNemar's exact test (paired on prediction ids)",
  sign_test_exact: 'exact sign test on absolute errors (paired on prediction ids)',
  two_proportion_z: 'two-proportion z-test on accuracy',
  welch_z: "Welch's z-test on mean absolute error",
};

/** Verdict classes: better is green, worse red, the rest grey (the report's badge styles). */
const VERDICT_CLASS: Record<RolloutComparison['verdict'], string> = {
  better: 'v-ok',
  worse: 'v-drift',
  indistinguishable: 'v-not_available',
  insufficient_data: 'v-insufficient_data',
};

/**
 * The section, or an empty string when the model has no rollout.
 *
 * @example
 * ```ts
 * rolloutSection(report.rollout); // '<section><h2>Rollout</h2>…'
 * ```
 */
export function rolloutSection(rollout: RolloutResult | undefined): string {
  if (rollout === undefined) return '';
  const rows = rollout.versions.map(
    (v) =>
      `<tr><td>${escapeHtml(v.version)}</td><td>${escapeHtml(v.role)}</td><td>${v.traffic === null ? '—' : `${formatNumber(v.traffic)} %`}</td><td>${v.predictions}</td><td>${v.joined}</td><td>${v.accuracy === null ? (v.mae === null ? '—' : `MAE ${formatNumber(v.mae)}`) : formatPercent(v.accuracy)}</td><td>${v.agreement === null ? '—' : `${v.agreement.paired} paired; labels agree ${formatPercent(v.agreement.label_agreement)}; mean |Δscore| ${formatNumber(v.agreement.mean_abs_score_diff)}`}</td></tr>`,
  );
  const verdicts = rollout.comparisons.map(
    (c) =>
      `<li>Version ${escapeHtml(c.challenger)} (${c.kind}) vs ${escapeHtml(c.primary)}: <span class="badge ${VERDICT_CLASS[c.verdict]}">${escapeHtml(c.verdict.replace('_', ' '))}</span> — ${escapeHtml(TEST_NAMES[c.test])}, n = ${c.n}, difference ${formatNumber(c.difference)}, p = ${formatPValue(c.p_value)}</li>`,
  );
  return [
    '<section><h2>Rollout</h2>',
    `<p>Versions of the window by role; verdicts at α = ${rollout.alpha} on the outcomes posted for their predictions.</p>`,
    '<table><thead><tr><th>version</th><th>role</th><th>traffic</th><th>predictions</th><th>with outcome</th><th>realized performance</th><th>agreement with primary</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    verdicts.length > 0 ? `<ul>${verdicts.join('')}</ul>` : '<p>No challenger in the window.</p>',
    '</section>',
  ].join('\n');
}
