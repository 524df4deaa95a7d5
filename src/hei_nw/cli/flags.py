"""Command-line flags generated from :class:`~hei_nw.memory.config.MemoryConfig`.

Every field ``section.field`` of the memory config becomes ``--section.field``; its
default and help come from the config, so a default is declared once. A few older flag
spellings stay (``--mem.traces``, ``--batch-size``; see
:data:`hei_nw.eval.config.FLAG_ALIASES`) and ablation switches (``--no-hopfield``, ...). Flags left unset
do not override anything; :func:`pop_memory_args` returns the ``{"section.field":
value}`` map of what the user typed, validated later by ``MemoryConfig``.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from hei_nw.eval.config import describe_validation_error
from hei_nw.eval.config import memory_flag as flag_name
from hei_nw.memory.config import SECTIONS, MemoryConfig
from hei_nw.models.base import GenerationPipeline, ModelLoadError, load_base
from hei_nw.utils.cli import fail

PREFIX = "mem__"


class _Explicit:
    """Marks a flag the user set to ``none`` (argparse's ``None`` means "not given")."""

    def __repr__(self) -> str:
        return "none"


EXPLICIT_NONE: Any = _Explicit()

# Ablation switches: flag -> (section.field, the value it sets).
SWITCHES: dict[str, tuple[str, Any]] = {
    "--no-hopfield": ("hopfield.enabled", False),  # the default since session 10; kept
    "--no-dg": ("keyer.dg", False),
    "--no-semantic": ("keyer.semantic", False),
}


def _base_type(annotation: Any) -> Any:
    """``int | None`` -> int; ``tuple[str, ...]`` stays; ``Literal[...]`` stays."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else annotation
    return annotation


def _none_or(kind: type) -> Any:
    def parse(text: str) -> Any:
        return EXPLICIT_NONE if text.lower() in ("none", "null", "off") else kind(text)

    parse.__name__ = kind.__name__
    return parse


def add_config_flags(
    parser: argparse.ArgumentParser,
    sections: Iterable[str] = tuple(SECTIONS),
    title: str = "memory",
) -> None:
    """One ``--section.field`` flag per config field of the named sections."""
    group = parser.add_argument_group(f"{title} (MemoryConfig; unset flags keep its defaults)")
    for section in sections:
        model = SECTIONS[section]
        for name, info in model.model_fields.items():
            key = f"{section}.{name}"
            dest = f"{PREFIX}{section}__{name}"
            flag = flag_name(key)
            default = info.default
            help_text = f"{key} (default {default!r})"
            kind = _base_type(info.annotation)
            optional = type(None) in get_args(info.annotation)
            if kind is bool:
                group.add_argument(
                    flag,
                    dest=dest,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=help_text,
                )
            elif get_origin(kind) is Literal:
                group.add_argument(
                    flag, dest=dest, choices=list(get_args(kind)), default=None, help=help_text
                )
            elif get_origin(kind) is tuple:
                inner = get_args(kind)[0]
                group.add_argument(
                    flag, dest=dest, nargs="+", type=inner, default=None, help=help_text
                )
            elif kind in (int, float, str):
                parse = _none_or(kind) if optional else kind
                group.add_argument(flag, dest=dest, type=parse, default=None, help=help_text)
            else:  # pragma: no cover - every config field is one of the kinds above
                raise TypeError(f"no flag type for {key}: {info.annotation}")
    for flag, (key, const) in SWITCHES.items():
        section, _, name = key.partition(".")
        group.add_argument(
            flag,
            dest=f"{PREFIX}{section}__{name}",
            action="store_const",
            const=const,
            help=f"ablation: {key}={const}",
        )


def memory_config(prog: str, overrides: dict[str, Any]) -> MemoryConfig:
    """``MemoryConfig`` with the user's overrides, or one line naming the bad flag (exit 2)."""
    try:
        return MemoryConfig().with_overrides(overrides)
    except ValidationError as exc:
        fail(prog, describe_validation_error(exc))
    except ValueError as exc:
        fail(prog, str(exc))


def pop_memory_args(args: dict[str, Any]) -> dict[str, Any]:
    """Remove the memory flags from parsed ``args``; return ``{"section.field": value}``
    for the ones the user set."""
    out: dict[str, Any] = {}
    for dest in [k for k in args if k.startswith(PREFIX)]:
        value = args.pop(dest)
        if value is not None:
            section, _, name = dest[len(PREFIX) :].partition("__")
            if value is EXPLICIT_NONE:
                value = None
            out[f"{section}.{name}"] = tuple(value) if isinstance(value, list) else value
    return out


def load_model_or_fail(
    prog: str, model: str, dtype: str = "float32", quant_4bit: bool = False, device: str = "auto"
) -> GenerationPipeline:
    """:func:`load_base`'s pipeline, or one line naming ``--model`` and exit 2."""
    try:
        return load_base(model, dtype, quant_4bit, device)[2]
    except ModelLoadError as exc:
        fail(prog, f"--model: {exc}")


__all__ = [
    "EXPLICIT_NONE",
    "SWITCHES",
    "add_config_flags",
    "flag_name",
    "load_model_or_fail",
    "memory_config",
    "pop_memory_args",
]
