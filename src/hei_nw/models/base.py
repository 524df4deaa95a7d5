"""Load the base decoder-only LM and generate short answers in batches.

>>> tok, model, pipe = load_base()            # bundled SmolLM2-135M-Instruct, CPU
>>> out = generate("Hello", max_new_tokens=8)
>>> out["text"], out["prompt_tokens"], out["generated_tokens"]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypedDict, cast

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from hei_nw.models.sources import (
    DEFAULT_MODEL,
    INSTALL_HINT,
    MODEL_ALIASES,
    ModelLoadError,
    cached_bundled,
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
    ) -> list[GenerationOutput]:
        texts = [self.render(p) for p in prompts]
        # Batches of similar length waste less compute on padding; results keep input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: dict[int, GenerationOutput] = {}
        starts = range(0, len(order), max(1, batch_size))
        for start in tqdm(starts, desc="generate", disable=not progress, leave=False):
            chunk = order[start : start + batch_size]
            outs = self._generate_batch(
                [texts[i] for i in chunk], max_new_tokens, temperature, top_p, do_sample, stop
            )
            results.update(zip(chunk, outs, strict=True))
        return [results[i] for i in range(len(texts))]

    @torch.inference_mode()
    def _generate_batch(
        self,
        texts: list[str],
        max_new_tokens: int,
        temperature: float,
        top_p: float,
        do_sample: bool,
        stop: Sequence[str] | None,
    ) -> list[GenerationOutput]:
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        extra: dict[str, Any] = {"temperature": temperature, "top_p": top_p} if do_sample else {}
        if stop:
            # Halt each sequence at its first stop string instead of running to the cap.
            extra.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        out = cast(Any, self.model).generate(
            **enc,
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            pad_token_id=self.tokenizer.pad_token_id,
            **extra,
        )
        # out: [batch, prompt_len + new]; left padding puts every prompt end at prompt_len.
        new = out[:, enc["input_ids"].shape[1] :]
        prompt_counts = enc["attention_mask"].sum(dim=1).tolist()
        return [self._decode(row, int(p), stop) for row, p in zip(new, prompt_counts, strict=True)]

    def _decode(
        self, row: torch.Tensor, prompt_tokens: int, stop: Sequence[str] | None
    ) -> GenerationOutput:
        ids = row.tolist()
        # Finished rows are padded with pad (= eos for most chat models): count up to it.
        ends = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        n_gen = next((i + 1 for i, t in enumerate(ids) if t in ends), len(ids))
        raw = self.tokenizer.decode(ids[:n_gen], skip_special_tokens=True)
        return GenerationOutput(
            text=cut_at_stop(raw, stop).strip(),
            raw_text=raw,
            prompt_tokens=prompt_tokens,
            generated_tokens=n_gen,
        )


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
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if quant_4bit:
        kwargs.update(_four_bit_kwargs(dev, torch_dtype))
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
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
