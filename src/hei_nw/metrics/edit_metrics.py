"""Knowledge-editing metrics, named as the field names them.

* ``rewrite_acc`` -- the edit prompt yields the new target (efficacy).
* ``rephrase_acc`` -- a paraphrase of the prompt yields the new target (generalisation).
* ``locality`` -- an unrelated prompt's output is unchanged *relative to the same model
  before the edit* (not relative to ground truth).

Each comes in two scoring modes, named in the key: ``*_tf`` is EasyEdit-style
teacher-forced token accuracy (the target is fed after the prompt and the argmax at each
target position is compared with the target token; for locality, the post-edit argmax
tokens are compared with the pre-edit argmax tokens at the same positions).
``rewrite_acc_prefix`` / ``rephrase_acc_prefix`` score greedy generation by prefix match
(the normalised output starts with the new target, :func:`target_hit`);
``locality_gen`` by the same normalised greedy output as before the edit.

Locality assumes its prompt is about something the edits left alone. In a sequential
batch that can fail: CounterFact's neighbourhood prompt for one edit may name the subject
of another edit in the same batch ("The twin city of Riga is" when "Riga is a twin city
of -> Athens" is live), where a changed answer is the edit working, not a leak.
``names_edited_subject`` flags those prompts and reports give their share
(``locality_names_edited_subject_rate``); it scores, it never decides. No locality
figure restricted to unflagged prompts is reported: the flag uses the subject guard's own
matcher, so such a split would be circular for the guarded rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from hei_nw.metrics.text import normalize_answer
from hei_nw.utils.text import in_scope


def agreement(before: Sequence[list[int]], after: Sequence[list[int]]) -> list[float]:
    """Per prompt: share of positions where the post-edit argmax equals the pre-edit one."""
    return [
        sum(a == b for a, b in zip(x, y, strict=True)) / max(1, len(x))
        for x, y in zip(before, after, strict=True)
    ]


def target_hit(prediction: str, target: str) -> bool:
    """Generation scoring: the normalised output starts with the normalised target."""
    pred, gold = normalize_answer(prediction), normalize_answer(target)
    return bool(gold) and (pred == gold or pred.startswith(gold + " "))


def same_output(before: str, after: str) -> bool:
    return normalize_answer(before) == normalize_answer(after)


def names_edited_subject(prompts: Sequence[str], subjects: Sequence[str]) -> list[bool]:
    """Per prompt: whether it names any of ``subjects`` (the batch's edited subjects) as a
    whole word sequence -- the same match the recall scope guard uses."""
    unique = sorted(set(subjects))
    return [any(in_scope(p, s) for s in unique) for p in prompts]


__all__ = ["agreement", "names_edited_subject", "same_output", "target_hit"]
