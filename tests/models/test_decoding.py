"""Cached-prefix decoding: batch size, prefix sharing and row dropping change no result."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from hei_nw.datasets import get_scenario, query_items
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.decoding import cache_kwargs, prefix_groups
from hei_nw.prompts import STOP, build_prompt, cloze_prompt


def _prompts(n: int = 12) -> tuple[list[str], list[str]]:
    items = query_items(get_scenario("A").generate(n, 4))
    # Mixed layouts (with and without notes, and cloze) give several prefix groups.
    prompts = [
        str(build_prompt(r["query"], r["context"] if i % 3 == 0 else None))
        for i, r in enumerate(items)
    ]
    prompts.append(cloze_prompt("The Eiffel Tower is located in", None))
    targets = [r["expected"] for r in items] + ["Paris"]
    return prompts, targets


def _check_invariance(pipe: GenerationPipeline) -> None:
    prompts, targets = _prompts()
    runs = {
        (bs, prefix): pipe.run(
            prompts, targets=targets, max_new_tokens=8, stop=STOP, batch_size=bs, prefix=prefix
        )
        for bs, prefix in ((1, False), (1, True), (8, True), (8, False))
    }
    ref = runs[(1, False)]
    for key, run in runs.items():
        assert [d.generated for d in run] == [d.generated for d in ref], key
        for a, b in zip(run, ref, strict=True):
            assert a.forced is not None and b.forced is not None
            assert abs(a.forced.token_accuracy - b.forced.token_accuracy) <= 1e-6, key
            assert a.forced.logprob == pytest.approx(b.forced.logprob, abs=1e-3), key
            assert a.prompt_tokens == b.prompt_tokens


def test_batch_and_prefix_invariance_tiny(tiny_pipe: GenerationPipeline) -> None:
    _check_invariance(tiny_pipe)


@pytest.mark.integration
def test_batch_and_prefix_invariance_bundled(bundled_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(bundled_dir)
    pipe = GenerationPipeline(
        tok, AutoModelForCausalLM.from_pretrained(bundled_dir).eval(), "smollm2-135m"
    )
    _check_invariance(pipe)


def test_prefix_groups_share_long_prefixes_only() -> None:
    a, b = [*list(range(40)), 1], [*list(range(40)), 2]
    c = [7] * 30
    groups = prefix_groups([a, c, b], min_prefix=16)
    assert sorted(sorted(g) for g in groups) == [[0, 2], [1]]
    assert prefix_groups([[1, 2], [1, 3]], min_prefix=16) == [[0], [1]]


def test_prefix_groups_split_two_formats_sharing_only_an_instruction() -> None:
    # 20 shared instruction tokens, then two few-shot blocks of 100 tokens, 10 prompts each
    inst = list(range(20))
    plain = [[*inst, *range(100, 200), 1000 + i, 7] for i in range(10)]
    notes = [[*inst, *range(200, 300), 2000 + i, 7] for i in range(10)]
    seqs = [s for pair in zip(plain, notes, strict=True) for s in pair]  # interleaved
    coarse = prefix_groups(seqs, refine=False)
    assert len(coarse) == 1  # the first pass only sees the 20 shared tokens
    groups = prefix_groups(seqs)
    assert sorted(sorted(g) for g in groups) == [list(range(0, 20, 2)), list(range(1, 20, 2))]
    # A split that saves fewer tokens than its overhead is not taken.
    assert len(prefix_groups(seqs, overhead=10_000)) == 1


def test_prefix_groups_keep_small_gains_and_duplicates_together() -> None:
    # Pairs share 3 more tokens than the group does: not worth a group per pair.
    seqs = [[*range(30), p, p + 1, p + 2, q] for p in range(100, 130, 3) for q in (1, 2)]
    assert len(prefix_groups(seqs)) == 1
    dup = [[*range(30), 5]] * 4
    assert sorted(sorted(g) for g in prefix_groups(dup)) == [[0, 1, 2, 3]]


def test_prefix_groups_deep_chain_does_not_recurse() -> None:
    # Each sequence extends the previous one: a trie 3000 branch points deep.
    seqs = [list(range(n)) for n in range(20, 3020)]
    groups = prefix_groups(seqs, overhead=0)
    assert sorted(i for g in groups for i in g) == list(range(3000))


def test_topk_and_stop(tiny_pipe: GenerationPipeline) -> None:
    prompts, _ = _prompts(4)
    out = tiny_pipe.run(prompts, max_new_tokens=5, stop=STOP, batch_size=4, topk=3)
    for d in out:
        assert 0 < len(d.generated) <= 5
        assert len(d.topk_ids) == len(d.generated) and all(len(r) == 3 for r in d.topk_ids)
        assert all(
            r[0] == g for r, g in zip(d.topk_ids, d.generated, strict=True)
        )  # greedy = top-1
        logps = d.topk_logprobs[0]
        assert logps == sorted(logps, reverse=True)


def test_decoding_passes_the_cache_under_the_keyword_forward_takes(
    tiny_pipe: GenerationPipeline, tiny_model_dir: Path
) -> None:
    """transformers 5.25 renamed ``past_key_values`` to ``cache`` and warns on the old name
    (which goes in 5.40); 4.x has only the old one. Decoding must use the current name."""
    params = inspect.signature(LlamaForCausalLM.forward).parameters
    name = "cache" if "cache" in params else "past_key_values"
    assert list(cache_kwargs(tiny_pipe.model, None)) == [name]
    wrapped = get_peft_model(
        LlamaForCausalLM.from_pretrained(tiny_model_dir), LoraConfig(target_modules=["q_proj"])
    )
    assert list(cache_kwargs(wrapped, None)) == [name]  # read through the peft wrapper
    prompts, targets = _prompts(4)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*past_key_values.*")
        out = tiny_pipe.run(prompts, targets=targets, max_new_tokens=4, stop=STOP, batch_size=2)
    assert len(out) == len(prompts)
