import random

import numpy as np
import pytest
import torch

from hei_nw.utils.cli import OneLineErrorParser, writable_dir_or_fail
from hei_nw.utils.seed import set_global_seed


def _draw() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_seed_determinism() -> None:
    set_global_seed(123)
    first = _draw()
    set_global_seed(123)
    assert _draw() == first
    set_global_seed(124)
    assert _draw() != first


def test_one_line_parser_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = OneLineErrorParser(prog="prog")
    parser.add_argument("--mode", choices=["B0"])
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--mode", "B9"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--mode" in err and "B9" in err


def test_writable_dir_or_fail(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert writable_dir_or_fail("prog", "--outdir", tmp_path / "new") == tmp_path / "new"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exc:
        writable_dir_or_fail("prog", "--outdir", blocker / "sub")
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("prog: error: --outdir is not writable") and str(blocker) in err
    assert blocker.read_text() == "x"
