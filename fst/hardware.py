"""What this machine is and computes fast: the precision presets, stylization defaults and model cards follow it.

torch is imported where it is needed: the training config's resolver lives here, and --help must stay quick."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """Whether oneDNN runs bf16 convolutions natively here (AVX-512 or AMX x86 CPUs, Arm with bf16).

    Elsewhere (AVX2-only CPUs such as AMD Zen 2/3) bf16 is emulated: a training step measured 14x slower than fp32.
    """
    import torch

    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cpu_training_precision() -> str:
    """The Lightning precision of the ``trainer=cpu`` preset: bf16 autocast where it pays, else fp32."""
    return "bf16-mixed" if cpu_has_fast_bf16() else "32-true"


def device_name(device: torch.device) -> str:
    """What a device is, for model cards and reports: ``NVIDIA H100 80GB HBM3`` or ``CPU: AMD EPYC 7B13 (2 cores)``."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    if device.type != "cpu":
        return device.type
    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "unknown")
    return f"CPU: {model} ({os.cpu_count()} cores)"


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:  # not Linux
        return [f"model name: {platform.processor()}"]
