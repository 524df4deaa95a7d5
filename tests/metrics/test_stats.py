import pytest

from hei_nw.metrics.stats import paired_bootstrap


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
