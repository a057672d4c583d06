"""Recomputes with SciPy and NumPy the expected values that test/drift/*.test.ts take from them.

Run: python3 test/drift/reference-values/scipy_values.py
Prints each value with repr() beside the value written in the test, and exits 1 when one differs
by more than the test's own tolerance. Not part of `npm test` (Python is not a dependency of the
product); the printed versions are the provenance the tests cite.
"""
import math
import sys

import numpy as np
import scipy
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

failures = 0


def check(name, got, written, rel=1e-12, abs_=0.0):
    global failures
    got = float(got)
    ok = abs(got - written) <= max(rel * abs(written), abs_)
    if not ok:
        failures += 1
    print(f"{'ok  ' if ok else 'DIFF'} {name}: scipy/numpy {got!r}  test {written!r}")


print(f"SciPy {scipy.__version__}, NumPy {np.__version__}")

# special.test.ts
for x, v in [(0.5, 0.5723649429247), (5, 3.1780538303479458), (10.3, 13.482036786138359),
             (1000.5, 5908.674175848678), (0.1, 2.252712651734206)]:
    check(f"gammaln({x})", special.gammaln(x), v, 1e-13)
for a, x, q in [(0.5, 0.1, 0.6547208460185768), (0.5, 2, 0.04550026389635857), (1, 1, 0.36787944117144245),
                (2.5, 1.5, 0.6999858358786276), (5, 20, 1.694474393006737e-5), (10, 3, 0.9988975118698845),
                (50, 45, 0.7531979655998298), (100, 150, 5.924540335483916e-6),
                (0.5, 50, 1.5239706048320995e-23), (3, 0.001, 0.9999999998334583),
                (200, 260, 4.750012444300866e-5)]:
    check(f"gammaincc({a}, {x})", special.gammaincc(a, x), q, 1e-11)
check("gammainc(3, 0.001)", special.gammainc(3, 0.001), 1.6654171665278094e-10, 1e-10)
check("gammainc(10, 3)", special.gammainc(10, 3), 0.0011024881301154815, 1e-11)
for x, df, v in [(20, 2, 4.539992976248486e-5), (100, 100, 0.48119168452795674),
                 (300, 10, 1.5546747543803087e-58), (1e-3, 5, 0.9999999983185123)]:
    check(f"chi2.sf({x}, {df})", stats.chi2.sf(x, df), v, 1e-11)
check("chi2.isf(0.05, 1)", stats.chi2.isf(0.05, 1), 3.841458820694124, 1e-12)
check("chi2.isf(0.05, 5)", stats.chi2.isf(0.05, 5), 11.070497693516351, 1e-12)
for z, v in [(1, 0.31731050786291415), (3, 0.0026997960632601866), (8, 1.244192114854348e-15)]:
    check(f"2 * norm.sf({z})", 2 * stats.norm.sf(z), v, 1e-10)
check("norm.isf(0.025)", stats.norm.isf(0.025), 1.959963984540054, 1e-12)
for lam, v in [(0.3, 0.9999906941986655), (0.5, 0.9639452436648751), (0.8, 0.5441424115741981),
               (1, 0.26999967167735456), (1.1799, 0.12351204971188676), (1.18, 0.1234538094297657),
               (1.3580986393225507, 0.049999999999999975), (2, 0.0006709252557796953),
               (3, 3.045995948942526e-8)]:
    check(f"kolmogorov({lam})", special.kolmogorov(lam), v, 1e-12)

# categorical-tests.test.ts: chi2_contingency(correction=False) on the 2 × k tables
for ref, cur, stat, p in [([60, 40], [40, 60], 8, 0.004677734981047276),
                          ([120, 90, 40, 0], [100, 110, 35, 5], 9.151515151515152, 0.02734278512677493),
                          ([5, 0], [0, 5], 10, 0.001565402258002549)]:
    table = np.array([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    res = stats.chi2_contingency(table, correction=False)
    check(f"chi2_contingency({ref} vs {cur}).statistic", res.statistic, stat, 1e-12)
    check(f"chi2_contingency({ref} vs {cur}).pvalue", res.pvalue, p, 1e-10)
# Evidently's proportions_diff_z_stat_ind: pooled two-proportion z, p = 2 * norm.sf(|z|)
for ref, cur, z_w, p_w in [([60, 40], [40, 60], 2.8284271247461894, 0.004677734981047275),
                           ([30, 50], [50, 40], -2.3541564241009567, 0.018564796925718163)]:
    n1, n2 = sum(ref), sum(cur)
    p1, p2 = ref[0] / n1, cur[0] / n2
    pooled = (ref[0] + cur[0]) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    check(f"z({ref} vs {cur})", z, z_w, 1e-12)
    check(f"2 * norm.sf(|z|) ({ref} vs {cur})", 2 * stats.norm.sf(abs(z)), p_w, 1e-10)


def psi(ref, cur, eps=1e-4):
    r = np.maximum(np.array(ref) / sum(ref), eps)
    c = np.maximum(np.array(cur) / sum(cur), eps)
    return float(np.sum((c - r) * np.log(c / r)))


check("psi([50, 50], [40, 60])", psi([50, 50], [40, 60]), 0.04054651081081642)
check("psi(deciles)", psi([10] * 10, [5, 5, 8, 9, 10, 10, 11, 12, 14, 16]), 0.12108983439237198)
check("psi([50, 50, 0], [45, 50, 5])", psi([50, 50, 0], [45, 50, 5]), 0.31537696989415864)

check("jensenshannon([1, 0], [0.5, 0.5])", jensenshannon([1.0, 0.0], [0.5, 0.5]), 0.46450140402245893, 1e-14)
for a_, b_, v in [([1, 2, 3, 4], [13, 14, 15, 16], 0.1402339), ([5, 6, 7, 8], [17, 18, 19, 20], 0.0399106),
                  ([9, 10, 11, 12], [21, 22, 23, 24], 0.0201815)]:
    check(f"jensenshannon({a_}, {b_})", jensenshannon(a_, b_), v, 5e-6)
print(f"     jensenshannon([120, 90, 40, 0], [100, 110, 35, 5]) = {jensenshannon([120, 90, 40, 0], [100, 110, 35, 5])!r}"
      " (the test: between 0.105 and 0.106)")

# dataset.test.ts
bh = stats.false_discovery_control([0.01, 0.04, 0.03, 0.2, 0.005, 0.5], method="bh")
for got, w in zip(bh, [0.03, 0.06, 0.06, 0.24, 0.03, 0.5]):
    check("false_discovery_control(bh)", got, w, 1e-12)

# ks-wasserstein.test.ts
rng = np.random.default_rng(20240601)
X = np.round(rng.normal(0, 1, 25), 2)
Y = np.round(rng.normal(0.5, 1, 30), 2)
X_test = [0.65, 0.47, -0.64, -1.18, -0.14, 1.2, 1.33, 0.91, 0.35, 1.6, 1.23, -0.22, -1.06, -0.36, -0.42, 0.69,
          -1.9, -0.19, 1.67, -0.92, -0.76, -0.08, -1.42, -0.13, -0.02]
Y_test = [0.5, -0.49, 0.13, 1.15, -0.21, 1.05, 1.16, -0.93, -0.15, 1.16, 0.99, 0.68, 0.15, 0.61, 2.37, 0.28, 1.08,
          0.08, 0.3, 1.15, -0.43, 0.26, -0.11, -0.36, 0.68, 1.74, 0.72, 0.12, -0.95, 1.32]
print(f"{'ok  ' if list(X) == X_test and list(Y) == Y_test else 'DIFF'} samples X, Y from default_rng(20240601)")
if not (list(X) == X_test and list(Y) == Y_test):
    failures += 1
TIES_A = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 8, 9, 9]
TIES_B = [1, 2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 8, 8, 9, 9, 9, 9]
golden_ref = [((i + 1) * 0.6180339887498949) % 1 for i in range(400)]
golden_cur = [u * (0.5 + 0.5 * u) for u in (((j + 1) * math.sqrt(2)) % 1 for j in range(500))]
for name, a, b, d, stephens, asymp, exact in [
    ("normal samples", X_test, Y_test, 1 / 3, 0.0751679669967469, 0.0688809531212683, 0.07589608911163262),
    ("tied integers", TIES_A, TIES_B, 0.3772727272727273, 0.07579911568143965, 0.08691354632744364,
     0.07429420982502821),
    ("n = 400 vs 500", golden_ref, golden_cur, 0.129, 0.0010810870924935446, 0.0011115871383709582,
     0.0011139986889182947),
]:
    ra = stats.ks_2samp(a, b, method="asymp")
    re = stats.ks_2samp(a, b, method="exact")
    check(f"ks_2samp({name}).statistic", ra.statistic, d, 1e-12)
    check(f"ks_2samp({name}, method='asymp').pvalue", ra.pvalue, asymp, 1e-10)
    check(f"ks_2samp({name}, method='exact').pvalue", re.pvalue, exact, 1e-10)
    en = len(a) * len(b) / (len(a) + len(b))
    check(f"Stephens kolmogorov ({name})", special.kolmogorov((math.sqrt(en) + 0.12 + 0.11 / math.sqrt(en)) * ra.statistic),
          stephens, 1e-10)
check("wasserstein_distance(X, Y)", stats.wasserstein_distance(X_test, Y_test), 0.46606666666666674)
check("wasserstein_distance(ties)", stats.wasserstein_distance(TIES_A, TIES_B), 1.8136363636363637)
check("wasserstein_distance(golden)", stats.wasserstein_distance(golden_ref, golden_cur), 0.08370851292327078, 1e-11)
check("np.std(golden_ref)", np.std(golden_ref), 0.28831102599444314, 1e-11)
check("W / np.std(golden_ref)", stats.wasserstein_distance(golden_ref, golden_cur) / np.std(golden_ref),
      0.29034100459579426, 1e-11)

# profiles.test.ts
xs = np.array(X_test)
check("X.mean()", xs.mean(), 0.026400000000000024)
check("X.std()", xs.std(), 0.9493824519128211)
for p, v in zip([0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1],
                [-1.9, -1.7848, -1.3719999999999999, -1.132, -0.64, -0.13, 0.69, 1.2900000000000003,
                 1.5459999999999994, 1.6531999999999998, 1.67]):
    check(f"np.quantile(X, {p})", np.quantile(xs, p), v, 1e-12, 1e-15)
counts, _ = np.histogram(xs, bins=4)
print(f"{'ok  ' if list(counts) == [4, 9, 6, 6] else 'DIFF'} np.histogram(X, bins=4) counts {list(counts)}")

# performance.test.ts
check("mannwhitneyu([0.5, 0.9], [0.5, 0.2]) / 4", stats.mannwhitneyu([0.5, 0.9], [0.5, 0.2]).statistic / 4, 0.875)

# performance.test.ts: multiclass ROC AUC, one-vs-rest macro (roc_auc_score(multi_class='ovr'))
P, Yc = [], []
for i in range(30):
    yc = i % 3
    a_ = (i * 7) % 10 + (4 if yc == 0 else 0)
    b_ = (i * 3) % 10 + (4 if yc == 1 else 0)
    c_ = (i * 11) % 10 + 1 + (4 if yc == 2 else 0)
    t_ = a_ + b_ + c_
    P.append([a_ / t_, b_ / t_, c_ / t_])
    Yc.append(yc)
ovr = []
for k in range(3):
    pos_k = [p[k] for p, yc in zip(P, Yc) if yc == k]
    neg_k = [p[k] for p, yc in zip(P, Yc) if yc != k]
    ovr.append(stats.mannwhitneyu(pos_k, neg_k).statistic / (len(pos_k) * len(neg_k)))
check("one-vs-rest macro AUC (mean of mannwhitneyu per class)", sum(ovr) / 3, 0.91)

# curves.test.ts
s = [((i * 37) % 101) // 10 / 10 for i in range(40)]
y = [1 if ((i * 37) % 101) + ((i * 13) % 7) * 10 > 80 else 0 for i in range(40)]
pos = [a for a, b in zip(s, y) if b == 1]
neg = [a for a, b in zip(s, y) if b == 0]
check("curves: mannwhitneyu AUC", stats.mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)), 0.9486215538847118)

print("all equal" if failures == 0 else f"{failures} value(s) differ")
sys.exit(1 if failures else 0)
