"""Scenario C -- preference / configuration memory: hosts, ports, account IDs, settings.

"Server stargazer runs Postgres on port 5433." queried with paraphrased cues
("Which port is Postgres listening on, on stargazer?"). Hard negatives share the
host or the person with a target.
"""

from __future__ import annotations

import random

from hei_nw.datasets.base import Record
from hei_nw.datasets.facts import FactTemplate, fact_stream, other_than
from hei_nw.datasets.scenario_a import PEOPLE

NAME = "C"

HOSTS = tuple(
    f"{a}{b}{suffix}"
    for suffix in ("", "-2", "-3", "-4", "-5", "-6", "-7", "-8")
    for a in (
        "star",
        "blue",
        "iron",
        "moon",
        "sun",
        "red",
        "storm",
        "frost",
        "amber",
        "night",
        "swift",
        "cloud",
        "stone",
        "silver",
        "copper",
        "ember",
        "pine",
        "river",
        "shadow",
        "nova",
    )
    for b in ("gazer", "fin", "hawk", "peak", "forge", "wolf", "light", "crest", "vale", "box")
)
SERVICES = (
    "Postgres",
    "Redis",
    "nginx",
    "MySQL",
    "MongoDB",
    "Kafka",
    "Grafana",
    "Jenkins",
    "RabbitMQ",
    "Elasticsearch",
    "Prometheus",
    "MinIO",
)
ACCOUNTS = ("library", "gym", "bank", "insurance", "airline", "payroll", "clinic", "parking")
PREFS: dict[str, tuple[str, ...]] = {
    "editor": ("Vim", "Emacs", "VS Code", "Sublime", "Nano", "Helix"),
    "shell": ("zsh", "bash", "fish", "nushell", "tcsh"),
    "theme": ("dark mode", "light mode", "solarized", "high contrast"),
    "timezone": ("UTC", "CET", "PST", "JST", "IST", "EST"),
    "drink": ("green tea", "espresso", "oat latte", "mint tea", "cold brew"),
}


def _port(rng: random.Random, subject: str) -> str:
    return str(rng.randrange(1024, 9999))


def _account_id(rng: random.Random, subject: str) -> str:
    return f"ID-{rng.randrange(10000, 99999)}"


def _id_number(value: str) -> tuple[str, ...]:
    """Asked for an account *number*, the model often answers the digits alone."""
    return (value.removeprefix("ID-"),)


def _service_template(service: str) -> FactTemplate:
    return FactTemplate(
        relation=f"port:{service}",
        statements=(
            f"Server {{subject}} runs {service} on port {{value}}.",
            f"Config note: {service} on host {{subject}} listens on port {{value}}.",
        ),
        train_templates=(
            f"Which port does {service} use on {{subject}}?",
            f"What port is {service} on {{subject}} listening on?",
            f"On host {{subject}}, which port runs {service}?",
        ),
        eval_templates=(
            f"Tell me the {service} port number for the {{subject}} server.",
            f"{service} on {{subject}} is reachable at which port?",
        ),
        subjects=HOSTS,
        values=_port,
    )


def _account_template(account: str) -> FactTemplate:
    return FactTemplate(
        relation=f"account:{account}",
        statements=(
            f"{{subject}}'s {account} account ID is {{value}}.",
            f"For the record, the {account} account of {{subject}} has ID {{value}}.",
        ),
        train_templates=(
            f"What is {{subject}}'s {account} account ID?",
            f"Which ID does {{subject}} use for the {account} account?",
            f"Give the {account} account ID of {{subject}}.",
        ),
        eval_templates=(
            f"{{subject}} needs the {account} account number. What is it?",
            f"Look up the ID on {{subject}}'s {account} account.",
        ),
        subjects=PEOPLE,
        values=_account_id,
        aliases=_id_number,
    )


def _pref_template(pref: str, options: tuple[str, ...]) -> FactTemplate:
    return FactTemplate(
        relation=f"pref:{pref}",
        statements=(
            f"{{subject}} prefers {{value}} as their {pref}.",
            f"Preference saved: {{subject}} wants {{value}} for {pref}.",
        ),
        train_templates=(
            f"Which {pref} does {{subject}} prefer?",
            f"What is {{subject}}'s preferred {pref}?",
            f"What {pref} should I set up for {{subject}}?",
        ),
        eval_templates=(
            f"{{subject}} likes which {pref} best?",
            f"Pick the {pref} that {{subject}} asked for.",
        ),
        subjects=PEOPLE,
        values=other_than(options, None),
    )


TEMPLATES = (
    tuple(_service_template(s) for s in SERVICES)
    + tuple(_account_template(a) for a in ACCOUNTS)
    + tuple(_pref_template(p, o) for p, o in PREFS.items())
)


def generate(
    n: int,
    seed: int,
    confounders_ratio: float = 0.5,
    filler_ratio: float = 0.25,
    repeat_ratio: float = 0.1,
) -> list[Record]:
    """``n`` config/preference facts with hard negatives on the same host or person."""
    return fact_stream(NAME, TEMPLATES, n, seed, confounders_ratio, filler_ratio, repeat_ratio)
