"""Load the base decoder-only LM and generate short answers in batches.

>>> tok, model, pipe = load_base()            # bundled SmolLM2-135M-Instruct, CPU
>>> out = generate("Hello", max_new_tokens=8)
>>> out["text"], out["prompt_tokens"], out["generated_tokens"]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, cast

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from hei_nw.models.decoding import (
    MIN_PREFIX,
    Decoded,
    PrefixKV,
    common_prefix_len,
    decode_batch,
    prefix_groups,
)
from hei_nw.models.sources import (
    DEFAULT_MODEL,
    INSTALL_HINT,
    MODEL_ALIASES,
    ModelLoadError,
    cached_bundled,
    local_only,
    resolve,
)

logger = logging.getLogger(__name__)

Message = dict[str, str]
Prompt = str | list[Message]

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


class GenerationOutput(TypedDict):
    """One generated answer. ``text`` is cut at the first stop string; ``raw_text`` is not."""

    text: str
    raw_text: str
    prompt_tokens: int
    generated_tokens: int


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` is bfloat16 on CUDA, float32 elsewhere (CPU half precision is slow)."""
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    try:
        return DTYPES[dtype]
    except KeyError:
        raise ModelLoadError(
            f"unknown dtype {dtype!r}; use auto, {', '.join(sorted(DTYPES))}"
        ) from None


class GenerationPipeline:
    """Batched greedy/sampled generation with chat templating and stop strings."""

    def __init__(self, tokenizer: Any, model: PreTrainedModel, model_id: str) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.model_id = model_id
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def max_context(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    def render(self, prompt: Prompt) -> str:
        """A plain string is used verbatim; a message list goes through the chat template."""
        if isinstance(prompt, str):
            return prompt
        messages = prompt
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            )
        return "\n\n".join(m["content"] for m in messages) + "\n"

    def count_tokens(self, prompt: Prompt) -> int:
        return len(self.tokenizer(self.render(prompt), add_special_tokens=False)["input_ids"])

    def encode(self, prompt: Prompt) -> list[int]:
        return list(self.tokenizer(self.render(prompt), add_special_tokens=False)["input_ids"])

    def run(
        self,
        prompts: Sequence[Prompt],
        *,
        targets: Sequence[str] | None = None,
        max_new_tokens: int = 32,
        stop: Sequence[str] | None = None,
        batch_size: int = 8,
        topk: int = 0,
        do_sample: bool = False,
        temperature: float = 0.2,
        top_p: float = 0.9,
        prefix: bool = True,
        progress: bool = False,
    ) -> list[Decoded]:
        """Score ``targets`` (teacher forcing, after a space) and/or generate, in one pass.

        Prompts sharing a token prefix reuse its KV cache (``prefix=False``: recompute
        it per batch, the reference path); batches are sorted by length; results keep
        the input order. See :mod:`hei_nw.models.decoding`.
        """
        if targets is not None and len(targets) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(targets)} targets")
        seqs = [self.encode(p) for p in prompts]
        tgt = (
            [
                self.tokenizer(" " + t.strip(), add_special_tokens=False)["input_ids"]
                for t in targets
            ]
            if targets is not None
            else None
        )
        pad = int(self.tokenizer.pad_token_id or 0)
        eos = frozenset(
            int(t)
            for t in (self.tokenizer.eos_token_id, self.tokenizer.pad_token_id)
            if t is not None
        )
        check = self._stop_check(stop)
        sampler = self._sampler(temperature, top_p) if do_sample else None
        results: dict[int, Decoded] = {}
        groups = prefix_groups(seqs) if prefix else [list(range(len(seqs)))]
        bar = tqdm(total=len(seqs), desc="decode", disable=not progress, leave=False)
        for group in groups:
            shared = min(
                common_prefix_len([seqs[i] for i in group]), min(len(seqs[i]) for i in group) - 1
            )
            use = prefix and shared >= MIN_PREFIX
            cache = PrefixKV(self.model, seqs[group[0]][:shared], self.device) if use else None
            cut = shared if use else 0
            order = sorted(group, key=lambda i: len(seqs[i]))
            for start in range(0, len(order), max(1, batch_size)):
                chunk = order[start : start + batch_size]
                outs = decode_batch(
                    self.model,
                    cache,
                    [seqs[i][cut:] for i in chunk],
                    pad_id=pad,
                    max_new_tokens=max_new_tokens,
                    targets=[tgt[i] for i in chunk] if tgt is not None else None,
                    stop=check,
                    eos_ids=eos,
                    topk=topk,
                    sample=sampler,
                )
                results.update(zip(chunk, outs, strict=True))
                bar.update(len(chunk))
        bar.close()
        return [results[i] for i in range(len(seqs))]

    def __call__(
        self,
        prompts: Sequence[Prompt],
        max_new_tokens: int = 32,
        temperature: float = 0.2,
        top_p: float = 0.9,
        do_sample: bool = False,
        stop: Sequence[str] | None = None,
        batch_size: int = 8,
        progress: bool = False,
        prefix: bool = True,
    ) -> list[GenerationOutput]:
        decoded = self.run(
            prompts,
            max_new_tokens=max_new_tokens,
            stop=stop,
            batch_size=batch_size,
            do_sample=do_sample,
            temperature=temperature,
            top_p=top_p,
            prefix=prefix,
            progress=progress,
        )
        return [self.output(d, stop) for d in decoded]

    def stop_length(self, ids: Sequence[int], stop: Sequence[str]) -> int:
        """Generated tokens up to and including the first one that completes a stop string."""
        for i in range(len(ids)):
            if any(
                s in self.tokenizer.decode(list(ids[: i + 1]), skip_special_tokens=False)
                for s in stop
            ):
                return i + 1
        return len(ids)

    def output(self, d: Decoded, stop: Sequence[str] | None) -> GenerationOutput:
        raw = self.tokenizer.decode(d.generated, skip_special_tokens=True)
        return GenerationOutput(
            text=cut_at_stop(raw, stop).strip(),
            raw_text=raw,
            prompt_tokens=d.prompt_tokens,
            generated_tokens=len(d.generated),
        )

    def _stop_check(self, stop: Sequence[str] | None) -> Callable[[list[int]], bool] | None:
        if not stop:
            return None
        strings = list(stop)

        def check(ids: list[int]) -> bool:
            text = self.tokenizer.decode(ids[-4:], skip_special_tokens=False)
            return any(s in text for s in strings)

        return check

    @staticmethod
    def _sampler(temperature: float, top_p: float) -> Callable[[torch.Tensor], torch.Tensor]:
        def sample(logits: torch.Tensor) -> torch.Tensor:
            probs = torch.softmax(logits / max(temperature, 1e-5), dim=-1)
            sorted_p, idx = probs.sort(dim=-1, descending=True)
            keep = sorted_p.cumsum(-1) - sorted_p < top_p  # smallest set reaching top_p
            sorted_p = sorted_p * keep
            choice = torch.multinomial(sorted_p / sorted_p.sum(-1, keepdim=True), 1)
            return idx.gather(-1, choice).squeeze(-1)

        return sample


def cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cut ``text`` at the earliest stop string (the stop string itself is dropped)."""
    cut = len(text)
    for s in stop or ():
        pos = text.find(s)
        if pos != -1:
            cut = min(cut, pos)
    return text[:cut]


_DEFAULT_PIPE: GenerationPipeline | None = None


def load_base(
    model_id: str = DEFAULT_MODEL,
    dtype: str = "auto",
    quant_4bit: bool = False,
    device: str = "auto",
) -> tuple[Any, PreTrainedModel, GenerationPipeline]:
    """Load ``(tokenizer, model, pipeline)``; the pipeline also becomes ``generate``'s default.

    ``model_id`` is an alias (``smollm2-135m`` -- the offline default -- or ``qwen2.5-1.5b``),
    an HF hub id, or a local folder. ``quant_4bit`` needs CUDA and bitsandbytes.
    """
    global _DEFAULT_PIPE
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    source, bundled = resolve(model_id)
    path = str(cached_bundled(source, bundled)) if bundled else source
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "local_files_only": local_only(path)}
    if quant_4bit:
        kwargs.update(_four_bit_kwargs(dev, torch_dtype))
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=kwargs["local_files_only"])
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot load model {model_id!r} (no hub access or bad path: {_first_line(exc)}); "
            f"{INSTALL_HINT}"
        ) from exc
    if not quant_4bit:
        cast(Any, model).to(dev)
    model.eval()
    pipe = GenerationPipeline(tokenizer, model, model_id)
    _DEFAULT_PIPE = pipe
    logger.info("loaded %s (%s, %s) on %s", model_id, path, torch_dtype, dev)
    return tokenizer, model, pipe


def _four_bit_kwargs(dev: torch.device, compute_dtype: torch.dtype) -> dict[str, Any]:
    if dev.type != "cuda":
        raise ModelLoadError(
            "--quant_4bit needs a CUDA GPU and bitsandbytes, and this run is on "
            f"{dev.type}; drop --quant_4bit to load full-precision weights"
        )
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise ModelLoadError(
            "--quant_4bit needs bitsandbytes: pip install 'hei_nw[quant]'"
        ) from exc
    config = BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute_dtype
    )
    return {"quantization_config": config, "device_map": {"": dev.index or 0}}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def generate(
    prompt: Prompt,
    *,
    pipe: GenerationPipeline | None = None,
    max_new_tokens: int = 128,
    temperature: float = 0.2,
    top_p: float = 0.9,
    do_sample: bool = False,
    stop: Sequence[str] | None = None,
) -> GenerationOutput:
    """Generate for one prompt (a string, or a chat message list).

    ``pipe`` defaults to the pipeline of the last :func:`load_base` call; use
    :func:`generate_batch` for many prompts.
    """
    return generate_batch(
        [prompt],
        pipe=pipe,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        do_sample=do_sample,
        stop=stop,
    )[0]


def generate_batch(
    prompts: Sequence[Prompt],
    *,
    pipe: GenerationPipeline | None = None,
    max_new_tokens: int = 128,
    temperature: float = 0.2,
    top_p: float = 0.9,
    do_sample: bool = False,
    stop: Sequence[str] | None = None,
    batch_size: int = 8,
) -> list[GenerationOutput]:
    """Generate for many prompts, ``batch_size`` at a time; outputs keep input order."""
    runner = pipe or _DEFAULT_PIPE
    if runner is None:
        raise ModelLoadError("no model loaded: call load_base() first or pass pipe=")
    return runner(
        prompts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        do_sample=do_sample,
        stop=stop,
        batch_size=batch_size,
    )


__all__ = [
    "DEFAULT_MODEL",
    "MODEL_ALIASES",
    "GenerationOutput",
    "GenerationPipeline",
    "ModelLoadError",
    "generate",
    "generate_batch",
    "load_base",
]
