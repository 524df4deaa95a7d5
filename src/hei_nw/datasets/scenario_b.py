"""Scenario B -- factual hot-patch: an episode contradicts what the model believes.

"Update: the capital of France is now Lyon." The first subjects are real countries
(the model has a prior belief, kept in ``slots["prior"]``); once those are used up,
fictional places carry the same relations so the scenario scales to thousands of items.
The real-fact version of this scenario is the CounterFact/zsRE data (see the issue on
knowledge editing).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hei_nw.datasets.base import Record
from hei_nw.datasets.facts import FactTemplate, fact_stream, other_than

NAME = "B"

# country: (capital, currency, language)
COUNTRIES: dict[str, tuple[str, str, str]] = {
    "France": ("Paris", "euro", "French"),
    "Germany": ("Berlin", "euro", "German"),
    "Italy": ("Rome", "euro", "Italian"),
    "Spain": ("Madrid", "euro", "Spanish"),
    "Portugal": ("Lisbon", "euro", "Portuguese"),
    "Japan": ("Tokyo", "yen", "Japanese"),
    "China": ("Beijing", "yuan", "Chinese"),
    "India": ("New Delhi", "rupee", "Hindi"),
    "Russia": ("Moscow", "ruble", "Russian"),
    "Brazil": ("Brasilia", "real", "Portuguese"),
    "Mexico": ("Mexico City", "peso", "Spanish"),
    "Egypt": ("Cairo", "pound", "Arabic"),
    "Kenya": ("Nairobi", "shilling", "Swahili"),
    "Canada": ("Ottawa", "dollar", "English"),
    "Australia": ("Canberra", "dollar", "English"),
    "Sweden": ("Stockholm", "krona", "Swedish"),
    "Norway": ("Oslo", "krone", "Norwegian"),
    "Poland": ("Warsaw", "zloty", "Polish"),
    "Greece": ("Athens", "euro", "Greek"),
    "Turkey": ("Ankara", "lira", "Turkish"),
    "Thailand": ("Bangkok", "baht", "Thai"),
    "Vietnam": ("Hanoi", "dong", "Vietnamese"),
    "Argentina": ("Buenos Aires", "peso", "Spanish"),
    "Peru": ("Lima", "sol", "Spanish"),
    "Chile": ("Santiago", "peso", "Spanish"),
    "Ireland": ("Dublin", "euro", "English"),
    "Austria": ("Vienna", "euro", "German"),
    "Hungary": ("Budapest", "forint", "Hungarian"),
    "Finland": ("Helsinki", "euro", "Finnish"),
    "Denmark": ("Copenhagen", "krone", "Danish"),
    "Netherlands": ("Amsterdam", "euro", "Dutch"),
    "Belgium": ("Brussels", "euro", "French"),
    "Switzerland": ("Bern", "franc", "German"),
    "South Korea": ("Seoul", "won", "Korean"),
    "Indonesia": ("Jakarta", "rupiah", "Indonesian"),
    "Iran": ("Tehran", "rial", "Persian"),
    "Nigeria": ("Abuja", "naira", "English"),
    "Morocco": ("Rabat", "dirham", "Arabic"),
    "Cuba": ("Havana", "peso", "Spanish"),
    "Iceland": ("Reykjavik", "krona", "Icelandic"),
}

_PREFIX = (
    "Vel",
    "Kor",
    "Ast",
    "Bren",
    "Cal",
    "Dor",
    "Eld",
    "Fen",
    "Gar",
    "Hal",
    "Isk",
    "Jor",
    "Kel",
    "Lor",
    "Mar",
    "Nor",
    "Ost",
    "Pel",
    "Quar",
    "Ros",
    "Sar",
    "Tal",
    "Ul",
    "Var",
    "Wen",
    "Yar",
    "Zan",
    "Bel",
    "Cor",
    "Dra",
    "Esk",
    "Fal",
    "Gil",
    "Hel",
    "Ith",
    "Kar",
    "Lun",
    "Mor",
    "Nev",
    "Orl",
)
_SUFFIX = (
    "oria",
    "avia",
    "heim",
    "stan",
    "mark",
    "land",
    "enia",
    "ovia",
    "ania",
    "ador",
    "esia",
    "ica",
    "ora",
    "una",
    "eth",
    "ara",
    "ium",
    "ova",
    "ene",
    "isa",
    "ondo",
    "ula",
    "ir",
    "ath",
    "elle",
)
_QUALIFIER = ("", "New ", "North ", "South ", "East ", "West ")
FICTIONAL = tuple(f"{q}{p}{s}" for q in _QUALIFIER for p in _PREFIX for s in _SUFFIX)

CAPITALS = tuple(
    sorted(
        {c for c, _, _ in COUNTRIES.values()}
        | {
            "Lyon",
            "Osaka",
            "Porto",
            "Tangier",
            "Geneva",
            "Bergen",
            "Krakow",
            "Izmir",
            "Cusco",
            "Mombasa",
        }
    )
)
CURRENCIES = tuple(
    sorted({c for _, c, _ in COUNTRIES.values()} | {"ducat", "mark", "florin", "crown", "thaler"})
)
LANGUAGES = tuple(
    sorted(
        {lang for _, _, lang in COUNTRIES.values()}
        | {"Esperanto", "Latin", "Welsh", "Basque", "Catalan"}
    )
)
SUBJECTS = tuple(COUNTRIES) + FICTIONAL


def _prior(column: int) -> Callable[[str], str | None]:
    def prior(subject: str) -> str | None:
        row = COUNTRIES.get(subject)
        return row[column] if row else None

    return prior


def _changed(pool: tuple[str, ...], column: int) -> Callable[[random.Random, str], str]:
    """A new value that differs from the real one (for real countries)."""

    def sample(rng: random.Random, subject: str) -> str:
        return other_than(pool, _prior(column)(subject))(rng, subject)

    return sample


TEMPLATES = (
    FactTemplate(
        relation="capital",
        statements=(
            "Update: the capital of {subject} is now {value}.",
            "News flash: {subject} has moved its capital to {value}.",
        ),
        train_templates=(
            "What is the capital of {subject}?",
            "Which city is the capital of {subject}?",
            "Name the capital city of {subject}.",
        ),
        eval_templates=(
            "{subject}'s capital is which city?",
            "Where is the seat of government of {subject}?",
        ),
        subjects=SUBJECTS,
        preferred=tuple(COUNTRIES),
        values=_changed(CAPITALS, 0),
        prior=_prior(0),
    ),
    FactTemplate(
        relation="currency",
        statements=(
            "Update: the official currency of {subject} is now the {value}.",
            "News flash: {subject} has switched its currency to the {value}.",
        ),
        train_templates=(
            "What is the currency of {subject}?",
            "Which currency does {subject} use?",
            "Name the official currency of {subject}.",
        ),
        eval_templates=(
            "{subject}'s money is called what?",
            "What do people in {subject} pay with?",
        ),
        subjects=SUBJECTS,
        preferred=tuple(COUNTRIES),
        values=_changed(CURRENCIES, 1),
        prior=_prior(1),
    ),
    FactTemplate(
        relation="language",
        statements=(
            "Update: the official language of {subject} is now {value}.",
            "News flash: {subject} has made {value} its official language.",
        ),
        train_templates=(
            "What is the official language of {subject}?",
            "Which language is official in {subject}?",
            "Name the official language of {subject}.",
        ),
        eval_templates=(
            "{subject}'s official language is which one?",
            "What language do officials in {subject} use?",
        ),
        subjects=SUBJECTS,
        preferred=tuple(COUNTRIES),
        values=_changed(LANGUAGES, 2),
        prior=_prior(2),
    ),
)


def generate(
    n: int,
    seed: int,
    confounders_ratio: float = 0.5,
    filler_ratio: float = 0.25,
    repeat_ratio: float = 0.1,
) -> list[Record]:
    """``n`` fact updates (real countries first), hard negatives on the same subject."""
    return fact_stream(NAME, TEMPLATES, n, seed, confounders_ratio, filler_ratio, repeat_ratio)
