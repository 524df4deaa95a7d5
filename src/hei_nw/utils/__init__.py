"""Small shared helpers: seeding, atomic I/O, text matching, CLI helpers (no torch import)."""

from hei_nw.utils.io import atomic_write_text, read_json, timestamp_slug, write_json, write_markdown
from hei_nw.utils.seed import set_global_seed
from hei_nw.utils.text import in_scope, words

__all__ = [
    "atomic_write_text",
    "in_scope",
    "read_json",
    "set_global_seed",
    "timestamp_slug",
    "words",
    "write_json",
    "write_markdown",
]
