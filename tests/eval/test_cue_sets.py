"""Partial and noisy cue sets: built from the cue text alone, reproducible, and they
remove or change what they say they do."""

from __future__ import annotations

import re

import pytest

from hei_nw.eval.cue_sets import CUE_SETS, Vocabulary, cue_set, drop_content_words, near_miss
from hei_nw.memory.keyer import STOPWORDS

CUES = [
    "What was left at the Bus Garage by Nadia on Wednesday evening?",
    "Whose jacket was left at Quarry Pool on Sunday night?",
    "Crate K-4 was moved to bay 11 during shift 1. By whom?",
    "Where was the passport that Vera left on Thursday afternoon?",
]


def content(text: str) -> list[str]:
    cores = [re.sub(r"^\W+|\W+$", "", t) for t in text.split()]
    return [c for c in cores if c and c.lower() not in STOPWORDS]


@pytest.mark.parametrize("frac", [0.3, 0.6])
def test_drop_removes_that_share_of_content_words_and_keeps_the_rest(frac: float) -> None:
    for cue in CUES:
        out = drop_content_words(cue, frac, seed=0)
        before, after = content(cue), content(out)
        assert len(before) - len(after) == min(round(frac * len(before)), len(before) - 1)
        assert after and set(after) <= set(before)
        assert out.endswith("?")  # the question mark survives a dropped last word
        # stop words are all kept, in order
        stops = [w.lower().strip("?.") for w in cue.split() if w.lower().strip("?.") in STOPWORDS]
        kept = [w.lower().strip("?.") for w in out.split() if w.lower().strip("?.") in STOPWORDS]
        assert kept == stops


def test_cue_sets_are_deterministic_and_seeded() -> None:
    for name in CUE_SETS:
        assert cue_set(name, CUES, 3) == cue_set(name, CUES, 3)
    assert cue_set("full", CUES) == CUES
    many = [f"Whose {w} was left at Quarry Pool on Sunday night?" for w in "abcdefghij"]
    assert cue_set("drop60", many, 0) != cue_set("drop60", many, 1)


def test_near_miss_changes_exactly_one_detail_to_the_same_kind() -> None:
    vocab = Vocabulary(CUES)
    for seed in range(20):
        for cue in CUES:
            out = near_miss(cue, vocab, seed)
            diff = [(a, b) for a, b in zip(cue.split(), out.split(), strict=True) if a != b]
            assert len(diff) == 1, (cue, out)
            old, new = (re.sub(r"\W+$", "", w) for w in diff[0])
            if any(c.isdigit() for c in old):
                n_old, n_new = (int(re.findall(r"\d+", w)[-1]) for w in (old, new))
                assert abs(n_old - n_new) == 1
            else:
                assert new[0].isupper() == old[0].isupper()
    # "on Wednesday" is swapped for another word that follows "on" in the set: a weekday
    days = {"Wednesday", "Sunday", "Thursday"}
    swapped = {
        near_miss(CUES[0], vocab, s).split()[-2]
        for s in range(40)
        if "Wednesday" not in near_miss(CUES[0], vocab, s)
    }
    assert swapped and swapped <= days - {"Wednesday"}


def test_unknown_cue_set_names_the_choices() -> None:
    with pytest.raises(KeyError, match="drop30"):
        cue_set("drop99", CUES)
