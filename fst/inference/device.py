"""Where and in what precision to stylize."""

from __future__ import annotations

import torch

from fst.errors import FstError
from fst.hardware import cpu_has_fast_bf16

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str) -> torch.device:
    """``auto`` picks cuda, then mps, then cpu."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise FstError(f"device={name!r} is not a device; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FstError(f"device={name}: CUDA is not available here; use device=auto or device=cpu")
    return device


def default_precision(device: torch.device) -> str:
    """The fastest precision that keeps the output visually identical to fp32 on this device."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"  # emulated bf16 is slower than fp32
    return "fp32"
