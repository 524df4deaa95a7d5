from typing import Any

from hei_nw.eval.report import bin_by_lag


def _row(lag: int, em: float, recall: float | None = None) -> Any:
    return {"lag": lag, "em": em, "f1": em, "recall_at_k": recall}


def test_bin_edges_and_counts() -> None:
    rows = [
        _row(0, 1.0),
        _row(0, 0.0),
        _row(1, 1.0),
        _row(2, 1.0),
        _row(7, 0.0),
        _row(45, 1.0, 1.0),
    ]
    bins = bin_by_lag(rows, bins=[0, 1, 3, 7, 30])
    assert [b["lag"] for b in bins] == [0, 1, 3, 7, 30]
    assert [b["count"] for b in bins] == [2, 2, 0, 1, 1]  # lag 2 falls in bin 1, 45 in bin 30
    assert bins[0]["em"] == 0.5 and bins[1]["em"] == 1.0
    assert bins[2]["em"] is None
    assert bins[4]["recall_at_k"] == 1.0 and bins[0]["recall_at_k"] is None
