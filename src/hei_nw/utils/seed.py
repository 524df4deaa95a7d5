"""Global seeding for Python, NumPy and PyTorch (torch is imported only when seeding)."""

from __future__ import annotations

import os
import random

import numpy as np


def set_global_seed(seed: int, deterministic: bool = False) -> None:
    """Seed every RNG the project uses.

    ``deterministic=True`` also asks PyTorch for deterministic kernels (slower; only
    needed when bit-exact reruns on GPU matter).
    """
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
