import json
from pathlib import Path

import pytest

from hei_nw.cli.summary import main
from tests.eval.test_report_md import _report


def test_summary_table(tmp_path: Path) -> None:
    (tmp_path / "A_B0_metrics.json").write_text(json.dumps(_report(smoke=True)))
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "README.md").read_text()
    assert "| A | B0 | B0 | 6 | 0.500 |" in md and "| A | B0 | long-context | 6 | 1.000 |" in md


def test_summary_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope")])
    with pytest.raises(SystemExit):
        main([str(tmp_path)])  # no reports yet
    (tmp_path / "X_B0_metrics.json").write_text("{broken")
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "X_B0_metrics.json" in capsys.readouterr().err
