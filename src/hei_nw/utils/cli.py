"""Common command-line plumbing: shared flags and one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from hei_nw.utils.io import OutdirError, ensure_writable_dir


class OneLineErrorParser(argparse.ArgumentParser):
    """``ArgumentParser`` whose errors are a single line naming the bad input and the fix."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_common_args(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add ``--seed``, ``--device`` and ``--outdir`` in their own group."""
    group = parser.add_argument_group("run")
    group.add_argument("--seed", type=int, default=7, help="global RNG seed (default: 7)")
    group.add_argument(
        "--device",
        default="auto",
        help="torch device: auto, cpu, cuda, cuda:0, mps (default: auto = cuda if available)",
    )
    group.add_argument(
        "--outdir", default="reports/baseline", help="folder for JSON/Markdown reports"
    )
    return group


def fail(prog: str, message: str, code: int = 2) -> NoReturn:
    """Print ``prog: error: message`` on one line to stderr and exit."""
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(code)


def writable_dir_or_fail(prog: str, flag: str, path: str | os.PathLike[str]) -> Path:
    """:func:`ensure_writable_dir`, or one line naming ``flag`` and exit 2 (before any work)."""
    try:
        return ensure_writable_dir(path)
    except OutdirError as exc:
        fail(prog, f"{flag} is not writable ({exc}); pass a path you can write to")
