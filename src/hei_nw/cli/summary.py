"""``python -m hei_nw.cli.summary FOLDER``: one README table over a report folder."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from hei_nw.eval.summary import load_reports, summary_markdown
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import atomic_write_text

PROG = "python -m hei_nw.cli.summary"


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineErrorParser(prog=PROG, description=__doc__)
    parser.add_argument("folder", help="folder holding *_metrics.json files")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not folder.is_dir():
        fail(PROG, f"{folder} is not a folder; pass the --outdir of a harness run")
    try:
        reports = load_reports(folder)
    except ValueError as exc:
        fail(PROG, str(exc))
    if not reports:
        fail(PROG, f"no *_metrics.json in {folder}; run the harness with --outdir {folder} first")
    atomic_write_text(folder / "README.md", summary_markdown(folder, reports))
    sys.stdout.write(f"wrote {folder / 'README.md'} ({len(reports)} reports)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
