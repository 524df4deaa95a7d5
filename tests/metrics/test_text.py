import pytest

from hei_nw.metrics.text import exact_match, normalize_answer, recall_at_k, token_f1


def test_em_and_f1_basic() -> None:
    assert exact_match("a", "a") == 1.0
    assert exact_match("The Café Lumen.", "Cafe Lumen") == 1.0
    assert exact_match("Alice left", "Alice") == 0.0
    assert exact_match("Bob", ["Alice", "bob"]) == 1.0
    assert token_f1("a b", "a c") == 0.0  # 'a' is an article, dropped by normalization
    assert token_f1("port 5433", "5433") == pytest.approx(2 / 3)
    assert token_f1("x y", "x y") == 1.0
    assert token_f1("", "x") == 0.0
    assert normalize_answer("  An   Umbrella! ") == "umbrella"


def test_recall_at_k_shape() -> None:
    cands = ["d", "b", "a", "c"]
    assert recall_at_k(cands, "a", 3) == 1.0
    assert recall_at_k(cands, "a", 2) == 0.0
    assert recall_at_k(cands, ["a", "c"], 3) == 0.5
    assert recall_at_k([], "a", 5) == 0.0
    with pytest.raises(ValueError):
        recall_at_k(cands, "a", 0)
