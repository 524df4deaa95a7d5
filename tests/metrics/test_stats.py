import numpy as np
import pytest

from hei_nw.metrics.stats import auc, paired_bootstrap


def test_clear_lift_excludes_zero() -> None:
    a = [0.0] * 200
    b = [1.0] * 120 + [0.0] * 80
    ci = paired_bootstrap(a, b, n_boot=1000, seed=1)
    assert ci["diff"] == pytest.approx(0.6)
    assert 0.5 < ci["ci_low"] < 0.6 < ci["ci_high"] < 0.7
    assert ci["excludes_zero"]


def test_no_difference_includes_zero() -> None:
    a = [1.0, 0.0] * 100
    b = [0.0, 1.0] * 100
    ci = paired_bootstrap(a, b, n_boot=1000, seed=1)
    assert ci["ci_low"] < 0 < ci["ci_high"] and not ci["excludes_zero"]


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 0.0])


def test_single_pair_never_excludes_zero() -> None:
    # One seed gives a point "interval"; it must not be read as a significant difference.
    ci = paired_bootstrap([0.06], [0.04])
    assert ci["ci_low"] == ci["ci_high"]
    assert ci["excludes_zero"] is False
    assert paired_bootstrap([0.0, 0.0], [1.0, 1.0])["excludes_zero"] is True


def test_auc_orders_ties_and_matches_pairwise_count() -> None:
    assert auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auc([0.5, 0.5], [True, False]) == 0.5  # a tie counts one half
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 40).astype(float)  # many ties
    y = rng.random(40) < 0.4
    pos, neg = s[y], s[~y]
    pairwise = (pos[:, None] > neg).mean() + 0.5 * (pos[:, None] == neg).mean()
    assert auc(s, y) == pytest.approx(pairwise)


def test_auc_needs_both_outcomes_and_one_per_score() -> None:
    with pytest.raises(ValueError, match="both outcomes"):
        auc([0.1, 0.2], [True, True])
    with pytest.raises(ValueError, match="one outcome per score"):
        auc([0.1, 0.2], [True])


def test_paired_bootstrap_reads_a_bound_zero_but_for_rounding_as_touching_zero() -> None:
    # D's final retention per seed (shuffled, CA2): the upper bound is exactly 0 in exact
    # arithmetic (a resample such as seeds 3, 3, 4, 4, 4), -5.6e-18 in floats.
    a = [0.16999999999999998, 0.18, 0.2, 0.14999999999999997, 0.17]
    b = [0.1, 0.08, 0.22999999999999998, 0.13, 0.12000000000000002]
    ci = paired_bootstrap(a, b, 10_000, 0)
    assert abs(ci["ci_high"]) < 1e-12 and ci["ci_low"] < -0.05
    assert ci["excludes_zero"] is False
