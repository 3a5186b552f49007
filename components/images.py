"""Which huggingface-pytorch-inference tag an endpoint runs: CPU, or GPU on GPU instances.

Serverless endpoints and CPU instances run the CPU tag from the settings. A GPU instance runs
the GPU build of the same release; the HuggingFace images do not derive one tag from the other
mechanically (the CUDA and Ubuntu versions vary), so known pairs are listed here and any other
release needs its GPU tag given explicitly.
"""

from __future__ import annotations

import re
from typing import Final

GPU_TAG_FOR_CPU_TAG: Final = {
    "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04": (
        "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04"
    ),
    "2.0.0-transformers4.28.1-cpu-py310-ubuntu20.04": (
        "2.0.0-transformers4.28.1-gpu-py310-cu118-ubuntu20.04"
    ),
    "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04": (
        "2.1.0-transformers4.37.0-gpu-py310-cu118-ubuntu20.04"
    ),
}

INSTANCE_TYPE_PATTERN: Final = re.compile(r"^ml\.(?P<family>[a-z0-9-]+)\.(?P<size>[a-z0-9]+)$")
# NVIDIA families the CUDA images run on.
GPU_FAMILIES: Final = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3", "p3dn", "p4d", "p4de", "p5", "p5e"}
)
# Accelerators these images do not run on.
UNSUPPORTED_FAMILIES: Final = frozenset({"inf1", "inf2", "trn1", "trn1n", "g4ad"})


def instance_family(instance_type: str) -> str | None:
    match = INSTANCE_TYPE_PATTERN.match(instance_type)
    return match.group("family") if match else None


def is_gpu_instance(instance_type: str) -> bool:
    return instance_family(instance_type) in GPU_FAMILIES


def gpu_tag_for(cpu_tag: str, explicit_gpu_tag: str | None) -> str | None:
    """The GPU tag to run: the explicit one, else the known pair of the CPU tag, else None."""
    return explicit_gpu_tag or GPU_TAG_FOR_CPU_TAG.get(cpu_tag)
