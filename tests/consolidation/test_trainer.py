"""The LoRA distillation trainer on the tiny model: placement, losses, cached prefixes, merge."""

from __future__ import annotations

import pytest
import torch

from hei_nw.consolidation.rows import TrainRow, teacher_rows
from hei_nw.consolidation.trainer import DistillTrainer, layer_range
from hei_nw.memory.config import ConsolidationConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt


def _rows(pipe: GenerationPipeline, n: int = 4, topk: bool = False) -> list[TrainRow]:
    out = []
    for i in range(n):
        prompt = str(build_prompt(f"Who left item {i} at place {i}?", None))
        ids = tuple(pipe.tokenizer(f" Person{i}\n", add_special_tokens=False)["input_ids"])
        tk = tuple((t, t + 1) for t in ids) if topk else None
        lp = tuple((-0.1, -2.5) for _ in ids) if topk else None
        out.append(TrainRow("distill", prompt, ids, tk, lp, f"t{i}"))
    return out


def test_layers_select_the_configured_band() -> None:
    assert layer_range(ConsolidationConfig(layers=(4, 20)), 30) == list(range(4, 20))
    assert layer_range(ConsolidationConfig(layers=(-2, 99)), 30) == [28, 29]
    with pytest.raises(ValueError, match="selects no layer"):
        layer_range(ConsolidationConfig(layers=(5, 5)), 30)


def test_lora_sits_only_where_configured(tiny_pipe: GenerationPipeline) -> None:
    trainer = DistillTrainer(tiny_pipe, ConsolidationConfig(modules=("down_proj",), layers=(1, 2)))
    trainer.attach()
    lora = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert lora and all("layers.1.mlp.down_proj" in n for n in lora)


@pytest.mark.parametrize("topk", [False, True])
def test_fit_lowers_the_answer_loss(tiny_pipe: GenerationPipeline, topk: bool) -> None:
    cfg = ConsolidationConfig(layers=(0, 2), lr=5e-2, batch_size=4, anchor_ratio=0.0, warmup=1)
    trainer = DistillTrainer(tiny_pipe, cfg)
    rows = _rows(tiny_pipe, topk=topk)
    before = trainer.row_losses(rows)
    trainer.fit(iter(lambda: list(rows), None), steps=60)
    after = trainer.row_losses(rows)
    # The tiny model (hidden size 32 behind a final norm, 49k-token vocabulary) cannot
    # reach a low loss; every row still has to move by a clear margin.
    assert all(a < b - 0.4 for a, b in zip(after, before, strict=True))


def test_cached_prefix_gives_the_same_loss_as_the_full_prompt(
    tiny_pipe: GenerationPipeline,
) -> None:
    exact = ConsolidationConfig(layers=(0, 2), precision="float32")
    trainer = DistillTrainer(tiny_pipe, exact)
    rows = _rows(tiny_pipe)
    cached = trainer.row_losses(rows)
    enc = trainer.encode(rows)
    assert len({e.group for e in enc}) == 1 and len(trainer._prefix[enc[0].group]) > 16
    # The same rows scored one by one, each alone (its prefix group of one, no sharing).
    alone = [DistillTrainer(tiny_pipe, exact).row_losses([r])[0] for r in rows]
    torch.testing.assert_close(torch.tensor(cached), torch.tensor(alone), rtol=1e-4, atol=1e-4)


def test_preservation_penalty_is_zero_before_training_and_grows_after(
    tiny_pipe: GenerationPipeline,
) -> None:
    cfg = ConsolidationConfig(layers=(0, 2), lr=1e-2, anchor_ratio=0.0, cov_weight=1.0, warmup=1)
    trainer = DistillTrainer(tiny_pipe, cfg)
    tokens = trainer.estimate_covariance(
        [str(build_prompt(f"What is {i} plus 1?", None)) for i in range(8)]
    )
    assert tokens > 0 and trainer.has_covariance
    assert float(trainer.preservation_penalty()) == pytest.approx(0.0, abs=1e-12)  # B starts at 0
    rows = _rows(tiny_pipe)
    trainer.fit(iter(lambda: list(rows), None), steps=5)
    assert float(trainer.preservation_penalty()) > 0.0


def test_merged_weights_match_the_attached_adapter(tiny_pipe: GenerationPipeline, tmp_path) -> None:
    cfg = ConsolidationConfig(layers=(0, 2), lr=1e-2, anchor_ratio=0.0, warmup=1)
    trainer = DistillTrainer(tiny_pipe, cfg)
    rows = _rows(tiny_pipe)
    trainer.fit(iter(lambda: list(rows), None), steps=5)
    merged = trainer.merged_pipe()
    ids = torch.tensor([tiny_pipe.encode(rows[0].prompt)])
    with torch.no_grad():
        torch.testing.assert_close(
            merged.model(ids).logits, trainer.model(ids).logits, rtol=1e-4, atol=1e-4
        )
    path = trainer.save_adapter(tmp_path / "adapter")
    assert (path / "adapter_config.json").is_file()
    base = trainer.detach()
    assert not hasattr(base, "peft_config") and tiny_pipe.model is base


def test_anchor_margin_adds_a_hinge_on_the_base_choice(tiny_pipe: GenerationPipeline) -> None:
    # The model's own greedy answers, as the anchor rows are built (margins >= 0).
    questions = [f"What is {i} plus {i + 1}?" for i in range(4)]
    rows = teacher_rows(tiny_pipe, questions, "completion", "anchor", topk=5)
    assert rows and all(r.kind == "anchor" for r in rows)
    exact = {"layers": (0, 2), "precision": "float32"}
    plain = DistillTrainer(tiny_pipe, ConsolidationConfig(**exact)).row_losses(rows)
    # The student's margin of each target token over its best rival, from full prompts.
    margins = []
    for r in rows:
        ids = tiny_pipe.encode(r.prompt) + list(r.target_ids)
        with torch.no_grad():
            logits = tiny_pipe.model(torch.tensor([ids])).logits[0].float()
        n = len(r.target_ids)
        lp = torch.log_softmax(logits[-n - 1 : -1], dim=-1)  # [n, V]: predicts each target
        tgt = torch.tensor(r.target_ids)[:, None]
        rival = lp.scatter(-1, tgt, float("-inf")).max(-1).values
        margins.append(lp.gather(-1, tgt).squeeze(-1) - rival)
    gamma = float(torch.cat(margins).median()) + 1e-3  # some positions inside, some outside
    margined = DistillTrainer(
        tiny_pipe, ConsolidationConfig(**exact, anchor_margin=gamma, anchor_margin_weight=2.0)
    ).row_losses(rows)
    expected = [
        p + 2.0 * float(torch.relu(gamma - m).mean()) for p, m in zip(plain, margins, strict=True)
    ]
    torch.testing.assert_close(torch.tensor(margined), torch.tensor(expected), rtol=1e-4, atol=1e-4)
    assert any(e > p + 1e-3 for e, p in zip(expected, plain, strict=True))
    # Other kinds never get the hinge.
    distill = _rows(tiny_pipe, topk=True)
    cfg = ConsolidationConfig(**exact, anchor_margin=gamma, anchor_margin_weight=2.0)
    torch.testing.assert_close(
        torch.tensor(DistillTrainer(tiny_pipe, cfg).row_losses(distill)),
        torch.tensor(DistillTrainer(tiny_pipe, ConsolidationConfig(**exact)).row_losses(distill)),
    )
