"""What a bench number applies to: the CPU model, its SIMD features, torch's kernel level, CUDA.

Machines of the same kind differ (some have AVX-512 and AVX-512 BF16/VNNI, which bitsandbytes'
CPU kernels and oneDNN use; some only AVX2), and CPU-only speed-ups do nothing on CUDA. Every
bench prints this line beside its numbers, so a number is never compared across machines
by mistake.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

FEATURES = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def _cpuinfo() -> tuple[str, set[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), set()
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model or platform.machine(), flags


def describe(*, with_torch: bool = False) -> str:
    """One line naming the machine a number was measured on."""
    model, flags = _cpuinfo()
    have = [f for f in FEATURES if f in flags]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"cpu: {model}, {cores} cores, {' '.join(have) or 'no AVX2'}"]
    if with_torch or "torch" in sys.modules:
        import torch

        parts.append(f"torch {torch.__version__} kernels {torch.backends.cpu.get_cpu_capability()}")
        parts.append(f"{torch.get_num_threads()} threads")
        parts.append(f"CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "no CUDA")
    return "; ".join(parts)
