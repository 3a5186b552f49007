"""Which image an endpoint runs: the runtime's repository, its regions, CPU or GPU tags.

Two runtimes: `huggingface`, the HuggingFace PyTorch inference image (deep-learning-container
registries), and `tei`, Hugging Face Text Embeddings Inference (`tei-cpu` and `tei`, in
SageMaker's algorithm registries, another account per region).
"""

from __future__ import annotations

import re
from typing import Final, Literal, NamedTuple

from container import tei

Runtime = Literal["huggingface", "tei"]
HUGGINGFACE_INFERENCE_REPOSITORY: Final = "huggingface-pytorch-inference"

# The regions `aws.sagemaker.get_prebuilt_ecr_image` knows: terraform-provider-aws,
# internal/service/sagemaker/prebuilt_ecr_image_data_source.go, tables
# prebuiltECRImageIDByRegion_deepLearning (huggingface-pytorch-inference) and
# prebuiltECRImageIDByRegion_XGBoost (tei, tei-cpu), which list the same 35 regions (the
# provider pulumi-aws 7 bundles). Any other region fails the lookup, so it is refused before
# anything is registered.
IMAGE_LOOKUP_REGIONS: Final = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ca-central-1", "ca-west-1", "cn-north-1", "cn-northwest-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
        "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1",
        "us-east-1", "us-east-2", "us-gov-east-1", "us-gov-west-1", "us-iso-east-1",
        "us-isob-east-1", "us-west-1", "us-west-2",
    }
)  # fmt: skip

GPU_TAG_FOR_CPU_TAG: Final = {
    "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04":
        "1.13.1-transformers4.26.0-gpu-py39-cu117-ubuntu20.04",
    "2.0.0-transformers4.28.1-cpu-py310-ubuntu20.04":
        "2.0.0-transformers4.28.1-gpu-py310-cu118-ubuntu20.04",
    "2.1.0-transformers4.37.0-cpu-py310-ubuntu22.04":
        "2.1.0-transformers4.37.0-gpu-py310-cu118-ubuntu20.04",
}  # fmt: skip
"""The HuggingFace images' GPU build of each CPU release: the CUDA and Ubuntu versions vary, so
one tag is not derived from the other."""


# Tags as the images are published (no service model states them): huggingface-pytorch-inference
# <torch>-transformers<version>-<cpu|gpu>-py<NN>[-cu<NNN>]-ubuntu<NN.NN>[-suffix], and TEI's
# 2.0.1-tei<version>-<cpu|gpu>-py<NN>[-cu<NNN>]-ubuntu<NN.NN> (container/tei.py).
_VERSION: Final = r"[0-9]+\.[0-9]+(?:\.[0-9]+)?"
_BUILD: Final = r"-py[0-9]{2,3}(?:-cu[0-9]{3})?-ubuntu[0-9]{2}\.[0-9]{2}(?:-[A-Za-z0-9.]+)*"


def _tags(runtime: str, device: str) -> str:
    return f"{_VERSION}-{runtime}{_VERSION}-(?:{device}){_BUILD}"


HUGGINGFACE_TAG: Final = _tags("transformers", "cpu|gpu")
TEI_TAG: Final = _tags("tei", "cpu|gpu")
ANY_TAG: Final = f"{HUGGINGFACE_TAG}|{TEI_TAG}"
EXAMPLE_CPU_TAG: Final = "1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04"


class RuntimeImages(NamedTuple):
    """Where a runtime's images live, which tag it runs by default, and its tags' pattern."""

    cpu_repository: str
    gpu_repository: str
    default_cpu_tag: str
    gpu_tag_for_cpu_tag: dict[str, str]
    tag_pattern: str


RUNTIMES: Final[dict[Runtime, RuntimeImages]] = {
    "huggingface": RuntimeImages(HUGGINGFACE_INFERENCE_REPOSITORY, HUGGINGFACE_INFERENCE_REPOSITORY,
                                 EXAMPLE_CPU_TAG, GPU_TAG_FOR_CPU_TAG, HUGGINGFACE_TAG),
    "tei": RuntimeImages(tei.CPU_REPOSITORY, tei.GPU_REPOSITORY, tei.DEFAULT_CPU_TAG,
                         tei.GPU_TAG_FOR_CPU_TAG, TEI_TAG),
}  # fmt: skip

# Instances these x86 CPU and CUDA images cannot run on, and why.
_UNSUPPORTED: Final = (
    (re.compile(r"(inf|trn)[0-9]+n?"), "AWS Neuron accelerators need a Neuron image"),
    (re.compile(r"dl1"), "Habana Gaudi accelerators need a Habana image"),
    (re.compile(r"p2"), "its K80 GPUs are too old for the CUDA builds of these images"),
    (re.compile(r"[a-z]+[0-9]+g[a-z]*|p6e-gb200"), "Graviton (Arm) CPUs need an Arm image"),
)


def instance_family(instance_type: str) -> str:
    return instance_type.split(".")[1]  # g5 for ml.g5.xlarge


def is_gpu_instance(instance_type: str) -> bool:
    """SageMaker's g and p families have NVIDIA GPUs (those too old or on Arm are refused)."""
    return instance_family(instance_type).startswith(("g", "p"))


def why_unsupported(instance_type: str) -> str | None:
    family = instance_family(instance_type)
    return next((why for rule, why in _UNSUPPORTED if rule.fullmatch(family)), None)


def gpu_tag_for(runtime: Runtime, cpu_tag: str) -> str | None:
    """The known GPU build of a CPU release, or None."""
    return RUNTIMES[runtime].gpu_tag_for_cpu_tag.get(cpu_tag)


def is_gpu_tag(tag: str) -> bool:
    return "-gpu-" in tag


def runtime_of_tag(tag: str) -> Runtime | None:
    """The runtime whose images carry `tag`."""
    return next((name for name, r in RUNTIMES.items() if re.fullmatch(r.tag_pattern, tag)), None)


NO_TEI_FAMILIES: Final = frozenset({"p3", "p3dn"})
"""V100 instances: TEI's README, "GPUs with CUDA compute capabilities < 7.5 are not supported
(V100, ...)"."""
