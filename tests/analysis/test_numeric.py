"""The NumPy helpers agree with SciPy (the analysis avoids importing SciPy for speed)."""
import numpy as np
import pytest
from scipy import special, stats

from analysis.numeric import (
    expit,
    kendall_tau_b,
    ndtr,
    ndtri,
    pearson,
    rankdata,
    sign_test_two_sided,
    spearman,
)


def test_expit_and_normal_functions(rng):
    x = np.r_[rng.normal(0, 5, 200), [-800.0, 800.0, 0.0]]
    assert np.abs(expit(x) - special.expit(x)).max() < 1e-15
    assert np.allclose(ndtr(x), special.ndtr(x), rtol=1e-12, atol=1e-300)
    for p in (1e-9, 0.025, 0.5, 0.8, 0.975):
        assert ndtri(p) == pytest.approx(special.ndtri(p), rel=1e-9)


@pytest.mark.parametrize("w,l", [(1, 0), (0, 7), (12, 3), (30, 51), (4000, 4200), (260000, 240000), (5, 5)])
def test_sign_test_matches_binomtest(w, l):
    assert sign_test_two_sided(w, l)[0] == pytest.approx(stats.binomtest(w, w + l, 0.5).pvalue, rel=1e-9, abs=1e-300)


def test_rank_correlations_match_scipy_with_ties(rng):
    for _ in range(20):
        n = int(rng.integers(3, 12))
        x = rng.integers(0, 4, n).astype(float)
        y = rng.normal(size=n) + x
        if np.ptp(x) == 0:
            continue
        assert np.allclose(rankdata(x), stats.rankdata(x))
        assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)
        assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)


def test_student_t_tail_and_quantile_match_scipy():
    from scipy.stats import t

    from analysis.numeric import t_quantile, t_sf

    for df in (1, 2, 3, 7.5, 39, 1000):
        for x in (-30.0, -3.0, -0.5, 0.0, 0.7, 2.5, 12.0, 80.0):
            assert t_sf(x, df) == pytest.approx(t.sf(x, df), rel=1e-9, abs=1e-14)
        for p in (0.001, 0.05, 0.5, 0.975, 0.9999):
            assert t_quantile(p, df) == pytest.approx(t.ppf(p, df), rel=1e-8, abs=1e-10)
