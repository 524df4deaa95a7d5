import os
from pathlib import Path

import pytest

from hei_nw.utils.io import (
    OutdirError,
    atomic_write_text,
    ensure_writable_dir,
    read_json,
    timestamp_slug,
    write_json,
)


def test_write_and_read_json_roundtrip(tmp_path: Path) -> None:
    obj = {"a": 1, "b": [1.5, "x"], "nested": {"nan": float("nan")}}
    path = write_json(tmp_path / "sub" / "m.json", obj)
    assert read_json(path) == {"a": 1, "b": [1.5, "x"], "nested": {"nan": None}}
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]  # no temp file left


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]


def test_timestamp_slug_shape() -> None:
    slug = timestamp_slug()
    assert len(slug) == 16 and slug.endswith("Z") and "T" in slug


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_dir_raises(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(OutdirError):
        ensure_writable_dir(locked / "out")


def test_dir_under_a_file_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutdirError):
        ensure_writable_dir(blocker / "out")


def test_atomic_writes_get_umask_permissions_not_owner_only(tmp_path: Path) -> None:
    import os

    from hei_nw.consolidation.queue import ReplayQueue
    from hei_nw.utils.io import atomic_write_text

    old = os.umask(0o022)
    try:
        fresh = atomic_write_text(tmp_path / "r.json", "{}")
        assert fresh.stat().st_mode & 0o777 == 0o644  # as open(..., "w") would give
        (tmp_path / "kept.md").write_text("x")
        (tmp_path / "kept.md").chmod(0o640)
        assert atomic_write_text(tmp_path / "kept.md", "y").stat().st_mode & 0o777 == 0o640
        db = ReplayQueue(seed=0).save(tmp_path / "replay" / "priority.db")
        assert db.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
