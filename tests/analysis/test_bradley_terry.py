import choix
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad, minimize

from analysis.bradley_terry import (
    comparison_components,
    fit_bradley_terry,
    fit_davidson,
    mle_exists,
    to_elo,
    wins_matrix,
)
from analysis.report import build_summary
from tests.analysis.conftest import votes_from_counts


def _choix_scores(W):
    """choix's MLE on the same wins (ties as half wins: every count doubled, a tie = one win each way)."""
    k = W.shape[0]
    data = [(i, j) for i in range(k) for j in range(k) for _ in range(round(2 * W[i, j]))]
    s = choix.ilsr_pairwise(k, data, alpha=0.0, max_iter=100000, tol=1e-14)
    return s - s.mean()


def _loglik(s, W):
    d = s[:, None] - s[None, :]
    return float((W * -np.logaddexp(0, -d)).sum())


def test_it_matches_choix_to_1e_6_with_ties(rng):
    k = 5
    true = rng.normal(size=k)
    W = np.zeros((k, k))
    for _ in range(4000):
        i, j = rng.choice(k, 2, replace=False)
        if rng.random() < 0.15:
            W[i, j] += 0.5
            W[j, i] += 0.5
        elif rng.random() < 1 / (1 + np.exp(true[j] - true[i])):
            W[i, j] += 1
        else:
            W[j, i] += 1
    ours = fit_bradley_terry(W)
    assert ours.converged
    ref = _choix_scores(W)
    diff_ours = ours.scores[:, None] - ours.scores[None, :]
    diff_ref = ref[:, None] - ref[None, :]
    assert np.abs(diff_ours - diff_ref).max() < 1e-6


def test_the_fit_is_a_stationary_point_of_the_loglikelihood(rng):
    W = rng.integers(1, 30, size=(4, 4)).astype(float)
    np.fill_diagonal(W, 0)
    s = fit_bradley_terry(W).scores

    def grad(x):
        p = 1 / (1 + np.exp(-(x[:, None] - x[None, :])))
        return W.sum(1) - ((W + W.T) * p).sum(1)

    assert check_grad(lambda x: _loglik(x, W), grad, rng.normal(size=4)) < 1e-4
    assert np.abs(grad(s)).max() < 1e-8
    assert abs(s.sum()) < 1e-12


def test_it_recovers_known_strengths_with_the_right_names(known_votes):
    summary = build_summary(known_votes, n_bootstrap=200, seed=1)
    bt = {r["system"]: r for r in summary["by_criterion"]["overall"]["bradley_terry"]}
    true = {"zeta": 1.0, "alpha": -1.0, "mid": 0.0, "beta": 0.5}
    centre = np.mean(list(true.values()))
    for name, strength in true.items():
        assert abs(bt[name]["score"] - (strength - centre)) < 0.1, name
        lo, hi = bt[name]["ci95"]
        assert lo < bt[name]["score"] < hi
    assert [r["system"] for r in summary["by_criterion"]["overall"]["bradley_terry"]] == ["zeta", "beta", "mid", "alpha"]
    assert abs(sum(r["score"] for r in bt.values())) < 1e-9
    assert bt["zeta"]["elo"] == pytest.approx(1000 + 400 * bt["zeta"]["score"] / np.log(10))


def test_elo_scale():
    assert to_elo(0.0) == 1000.0
    assert to_elo(np.log(10)) == pytest.approx(1400.0)


def test_mle_existence_follows_the_beats_graph():
    W = np.array([[0, 3, 2], [1, 0, 4], [1, 2, 0]], float)
    assert mle_exists(W)
    W_never_loses = W.copy()
    W_never_loses[1:, 0] = 0
    assert not mle_exists(W_never_loses)
    assert list(mle_exists(np.stack([W, W_never_loses]))) == [True, False]


def test_components_are_found():
    N = np.zeros((5, 5))
    N[0, 1] = N[1, 0] = 1
    N[2, 3] = N[3, 2] = N[3, 4] = N[4, 3] = 1
    n, labels = comparison_components(N)
    assert n == 2
    assert labels[0] == labels[1] != labels[2] == labels[3] == labels[4]


def test_a_system_that_never_loses_is_regularized_and_said_so():
    votes = votes_from_counts([("a", "b", "left", 30), ("b", "c", "left", 20), ("c", "b", "left", 10),
                               ("a", "c", "left", 25)])
    res = build_summary(votes, n_bootstrap=50)["by_criterion"]["overall"]
    assert any("no maximum-likelihood estimate" in n and "virtual tie" in n for n in res["notes"])
    bt = {r["system"]: r for r in res["bradley_terry"]}
    assert all(r["regularized"] for r in bt.values())
    assert np.isfinite(bt["a"]["score"]) and bt["a"]["score"] > bt["b"]["score"] > bt["c"]["score"]
    assert bt["a"]["ci95"][0] is not None


def test_a_disconnected_graph_is_fitted_per_component_and_flagged():
    votes = votes_from_counts([("a", "b", "left", 30), ("b", "a", "left", 10),
                               ("c", "d", "left", 5), ("d", "c", "left", 15)])
    res = build_summary(votes, n_bootstrap=50)["by_criterion"]["overall"]
    assert any("disconnected into 2 groups" in n and "cannot be compared" in n for n in res["notes"])
    bt = {r["system"]: r for r in res["bradley_terry"]}
    assert bt["a"]["component"] == bt["b"]["component"] != bt["c"]["component"] == bt["d"]["component"]
    assert bt["a"]["score"] == pytest.approx(np.log(3) / 2, abs=1e-9)
    assert bt["c"]["score"] == pytest.approx(-np.log(3) / 2, abs=1e-9)
    assert bt["a"]["score"] + bt["b"]["score"] == pytest.approx(0, abs=1e-12)


def test_all_ties_give_zero_scores_and_a_note():
    votes = votes_from_counts([("a", "b", "tie", 10), ("b", "c", "tie", 7), ("a", "c", "tie", 3)])
    res = build_summary(votes, n_bootstrap=20)["by_criterion"]["overall"]
    assert all(r["score"] == pytest.approx(0, abs=1e-12) for r in res["bradley_terry"])
    assert all(r["win_rate"] == 0.5 and r["p_value"] == 1.0 for r in res["win_rates"])
    assert any("all votes are ties" in n for n in res["notes"])


def test_one_system_cannot_be_ranked_and_says_why():
    # a vote always names two systems: a "comparison" of one system with itself is refused
    votes = votes_from_counts([("a", "b", "left", 2)])
    votes.loc[:, "system_right"] = "a"
    votes.loc[:, "winner"] = "a"
    with pytest.raises(ValueError, match="system_left equals system_right"):
        build_summary(votes)
    # with nothing counted (only attention checks) there is nothing to rank either
    one = build_summary(votes_from_counts([("a", "b", "left", 2)]).assign(attention_check=True),
                        n_bootstrap=10)["by_criterion"]["overall"]
    assert one["bradley_terry"] == [] and one["win_rates"] == []
    assert any("no counted votes" in n for n in one["notes"])


def test_a_system_never_compared_gets_no_score():
    votes = votes_from_counts([("a", "b", "left", 3), ("b", "a", "left", 2)])
    votes = votes.assign(system_left=votes["system_left"].astype(str), system_right=votes["system_right"].astype(str))
    votes.loc[len(votes)] = {**votes.iloc[0].to_dict(), "vote_id": "vx", "system_left": "c", "winner": "c",
                             "criterion": "other"}
    res = build_summary(votes, n_bootstrap=10)["by_criterion"]["overall"]
    assert "c" in res["systems"] and "c" not in {r["system"] for r in res["bradley_terry"]}
    assert any("never compared (no score): c" in n for n in res["notes"])


def test_a_pair_with_zero_votes_is_listed_not_invented():
    votes = votes_from_counts([("a", "b", "left", 10), ("b", "a", "left", 5), ("b", "c", "left", 6),
                               ("c", "b", "left", 6)])
    res = build_summary(votes, n_bootstrap=20)["by_criterion"]["overall"]
    assert res["pairs_without_votes"] == [["a", "c"]]
    assert {(r["a"], r["b"]) for r in res["win_rates"]} == {("a", "b"), ("b", "c")} or \
        {frozenset((r["a"], r["b"])) for r in res["win_rates"]} == {frozenset("ab"), frozenset("bc")}
    m = res["win_rate_matrix"]
    i, j = m["systems"].index("a"), m["systems"].index("c")
    assert m["values"][i][j] is None


def test_davidson_matches_a_generic_optimizer(rng):
    pairs = np.array([[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]])
    counts = rng.integers(5, 40, size=(5, 3)).astype(float)
    fit = fit_davidson(counts, pairs, 4)

    def nll(x):
        s, th = x[:4], x[4]
        tot = 0.0
        for (i, j), (wi, wj, t) in zip(pairs, counts):
            den = np.exp(s[i]) + np.exp(s[j]) + np.exp(th + (s[i] + s[j]) / 2)
            tot += wi * s[i] + wj * s[j] + t * (th + (s[i] + s[j]) / 2) - (wi + wj + t) * np.log(den)
        return -tot

    ref = minimize(nll, np.zeros(5), method="BFGS", options={"gtol": 1e-10})
    s_ref = ref.x[:4] - ref.x[:4].mean()
    assert fit["converged"]
    assert np.abs(fit["scores"] - s_ref).max() < 1e-5
    assert fit["tie_parameter"] == pytest.approx(np.exp(ref.x[4]), rel=1e-5)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 20), st.integers(0, 5)),
                min_size=6, max_size=20), st.permutations(range(4)))
def test_scores_sum_to_zero_and_follow_a_relabelling(entries, perm):
    W = np.ones((4, 4)) - np.eye(4)  # connected, MLE exists
    for i, j, w, t in entries:
        if i != j:
            W[i, j] += w + t / 2
            W[j, i] += t / 2
    s = fit_bradley_terry(W).scores
    assert abs(s.sum()) < 1e-9
    perm = np.array(perm)
    s_perm = fit_bradley_terry(W[np.ix_(perm, perm)]).scores
    assert np.allclose(s_perm, s[perm], atol=1e-8)
    # more wins for system 0 never lowers its score
    W2 = W.copy()
    W2[0, 1] += 5
    assert fit_bradley_terry(W2).scores[0] >= s[0] - 1e-12


def test_wins_matrix_puts_half_ties_both_ways():
    W = wins_matrix(np.array([[3, 1, 2]]), np.array([[0, 2]]), 3)
    assert W[0, 2] == 4 and W[2, 0] == 2 and W.sum() == 6
