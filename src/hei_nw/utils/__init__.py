"""Small shared helpers: seeding, atomic I/O, common CLI flags."""

from hei_nw.utils.io import atomic_write_text, read_json, timestamp_slug, write_json, write_markdown
from hei_nw.utils.seed import set_global_seed

__all__ = [
    "atomic_write_text",
    "read_json",
    "set_global_seed",
    "timestamp_slug",
    "write_json",
    "write_markdown",
]
