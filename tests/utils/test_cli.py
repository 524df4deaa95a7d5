import random

import numpy as np
import pytest
import torch

from hei_nw.utils.cli import OneLineErrorParser
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
