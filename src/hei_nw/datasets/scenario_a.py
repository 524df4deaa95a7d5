"""Scenario A -- episodic one-shot mini-stories queried by partial cues, with hard negatives.

Each target ("On Monday morning, Alice left a backpack at Café Lumen.") is queried for
one of who/what/where given the other two and the time. A hard negative shares two of
who/what/where with its target and differs in the time, so only the full cue tells
them apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hei_nw.datasets.base import LAG_BINS, Record, add_noise, finalize, stable_rng
from hei_nw.datasets.slot_stories import SlotWorld, build_stories

NAME = "A"

PEOPLE = (
    "Alice",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Liam",
    "Mara",
    "Nadia",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Anton",
    "Beatriz",
    "Carlos",
    "Daria",
    "Emil",
    "Fatima",
    "Gideon",
    "Hana",
    "Igor",
    "Julia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nora",
    "Oskar",
    "Paula",
    "Rami",
    "Sofia",
    "Tomas",
    "Ulla",
    "Victor",
    "Wanda",
    "Yara",
    "Zeno",
    "Amir",
    "Bianca",
    "Cyrus",
    "Delia",
    "Enzo",
    "Freya",
    "Gustav",
    "Helga",
    "Ivan",
    "Jana",
)
ITEMS = (
    "backpack",
    "umbrella",
    "laptop",
    "notebook",
    "scarf",
    "wallet",
    "camera",
    "guitar",
    "helmet",
    "jacket",
    "passport",
    "keychain",
    "thermos",
    "sketchbook",
    "violin",
    "tablet",
    "lunchbox",
    "raincoat",
    "telescope",
    "watch",
    "briefcase",
    "skateboard",
    "headset",
    "suitcase",
    "teapot",
    "kite",
    "microscope",
    "tripod",
    "yoga mat",
    "flashlight",
    "sunglasses",
    "glove",
    "hat",
    "map",
    "compass",
    "blanket",
    "basket",
    "lantern",
    "drone",
    "chessboard",
)
PLACES = (
    "Café Lumen",
    "the Harbor Library",
    "Pine Street Station",
    "the Orchid Hotel",
    "Maple Park",
    "the Riverside Gym",
    "Bakery Nord",
    "the City Museum",
    "Gate 12",
    "the Blue Lantern Bar",
    "Oak Hall",
    "the Night Market",
    "Studio Nine",
    "the Old Mill",
    "Willow Clinic",
    "the Glass Pavilion",
    "Dock Seven",
    "the Copper Kettle",
    "Fern Gallery",
    "the North Terminal",
    "Hilltop School",
    "the Rose Theater",
    "Cedar Mall",
    "the Ice Rink",
    "Lotus Spa",
    "the Tram Depot",
    "Birch Office",
    "the Sunset Diner",
    "Quarry Pool",
    "the Town Hall",
    "Elm Bookshop",
    "the Bus Garage",
    "Iris Bistro",
    "the Science Lab",
    "Ivy Cinema",
    "the Flower Stall",
    "Canal Bridge",
    "the Post Office",
    "Summit Lodge",
    "the Vinyl Shop",
)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
PARTS = ("morning", "afternoon", "evening", "night")
TIMES = tuple(f"{d} {p}" for d in DAYS for p in PARTS)

WORLD = SlotWorld(
    vocab={"who": PEOPLE, "what": ITEMS, "where": PLACES, "when": TIMES},
    render={"a_what": "{what}"},
    episode_templates=(
        "On {when}, {who} left a {what} at {where}.",
        "{who} left a {what} at {where} on {when}.",
        "On {when}, {who} forgot a {what} at {where}.",
        "{who} left a {what} behind at {where} on {when}.",
    ),
    train_templates={
        "who": (
            "Who left the {what} at {where} on {when}?",
            "On {when}, who left the {what} at {where}?",
            "Which person left a {what} at {where} on {when}?",
        ),
        "what": (
            "What did {who} leave at {where} on {when}?",
            "On {when}, what did {who} leave at {where}?",
            "Which item did {who} leave at {where} on {when}?",
        ),
        "where": (
            "Where did {who} leave the {what} on {when}?",
            "On {when}, where did {who} leave the {what}?",
            "At which place did {who} leave a {what} on {when}?",
        ),
    },
    eval_templates={
        "who": (
            "Whose {what} was left at {where} on {when}?",
            "Someone left a {what} at {where} on {when}. Who was it?",
        ),
        "what": (
            "What was left at {where} by {who} on {when}?",
            "{who} left something at {where} on {when}. What was it?",
        ),
        "where": (
            "Where was the {what} that {who} left on {when}?",
            "{who} left a {what} somewhere on {when}. Where?",
        ),
    },
)


def generate(
    n: int,
    seed: int,
    confounders_ratio: float = 1.0,
    hard_negative: bool = True,
    lag_spec: Mapping[str, Sequence[int]] | None = None,
    filler_ratio: float = 0.25,
    repeat_ratio: float = 0.1,
) -> list[Record]:
    """``n`` target stories plus hard negatives, chit-chat filler and repeats.

    ``confounders_ratio`` hard negatives per target (fractions are drawn), each sharing
    at least two of who/what/where with its target. ``lag_spec["bins"]`` is recorded as
    the lag bins (default ``(0, 1, 3, 7, 30)``).
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    rng = stable_rng(NAME, n, seed)
    episodes = build_stories(WORLD, rng, n, confounders_ratio, hard_negative)
    bins = tuple((lag_spec or {}).get("bins", LAG_BINS))
    for ep in episodes:
        ep["lag"] = int(rng.choice(bins))
    stream = add_noise(rng, episodes, filler_ratio, repeat_ratio)
    return finalize(NAME, n, seed, stream)
