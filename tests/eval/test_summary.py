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


def test_summary_lists_each_command_once(tmp_path: Path) -> None:
    one, other = _report(smoke=True), _report(smoke=True)
    other["run"]["command"] = one["run"]["command"] + " --seed 9"
    for name, rep in [("A_B0", one), ("A_B1", one), ("B_B0", other)]:
        (tmp_path / f"{name}_metrics.json").write_text(json.dumps(rep))
    assert main([str(tmp_path)]) == 0
    tail = (tmp_path / "README.md").read_text().split("Commands:")[1]
    listed = [line for line in tail.splitlines() if line.startswith("- ")]
    assert listed == [f"- `{one['run']['command']}`", f"- `{other['run']['command']}`"]


def test_summary_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope")])
    with pytest.raises(SystemExit):
        main([str(tmp_path)])  # no reports yet
    (tmp_path / "X_B0_metrics.json").write_text("{broken")
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "X_B0_metrics.json" in capsys.readouterr().err
