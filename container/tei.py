"""Hugging Face Text Embeddings Inference (TEI) as SageMaker runs it: its images, the variables
its entrypoint and router read, and its limits. The component configures the container from
these; the local endpoint (`serve --runtime tei`) answers by the same limits.

Sources: the default images, aws/deep-learning-containers docs/src/data/huggingface-tei/
1.9.3-{cpu,gpu}-sagemaker.yml (released 2026-08-07); their entrypoint.sh (awslabs/
llm-hosting-container huggingface/pytorch/tei/docker/1.9.3) requires HF_MODEL_ID, maps it to
MODEL_ID and HF_MODEL_REVISION to REVISION and runs the router (PORT=8080), whose
router/src/main.rs (TEI v1.9.3) reads the rest from the environment (clap `env`). The images
set HUGGINGFACE_HUB_CACHE=/opt/ml/model from 1.7.0, the only writable place on a serverless
endpoint (TEI issue 609), set here as well so that an older tag works too.
"""

from __future__ import annotations

from typing import Final

CPU_REPOSITORY: Final = "tei-cpu"
GPU_REPOSITORY: Final = "tei"

# The TEI images the SageMaker Python SDK registers (sagemaker-core image_uri_config/
# huggingface-tei-cpu.json and huggingface-tei.json), tagged "2.0.1-tei<version>-cpu-py310-
# ubuntu22.04" or "...-gpu-py310-cu122-ubuntu22.04"; the SDK does not list 1.9.3, the default.
REGISTERED_VERSIONS: Final = ("1.2.3", "1.4.0", "1.6.0", "1.7.0", "1.8.0", "1.8.2")
DEFAULT_CPU_TAG: Final = "2.0.1-tei1.9.3-cpu-py310-ubuntu24.04"
GPU_TAG_FOR_CPU_TAG: Final = {
    f"2.0.1-tei{version}-cpu-py310-ubuntu22.04": f"2.0.1-tei{version}-gpu-py310-cu122-ubuntu22.04"
    for version in REGISTERED_VERSIONS
} | {DEFAULT_CPU_TAG: "2.0.1-tei1.9.3-gpu-py310-cu129-ubuntu24.04"}

MAX_CLIENT_BATCH_SIZE: Final = 32
"""Texts one request may carry (router's --max-client-batch-size default); more are refused."""
MAX_BATCH_TOKENS: Final = 16384
"""Tokens one forward pass may hold, padding included (--max-batch-tokens default)."""
MAX_CONCURRENT_REQUESTS: Final = 512
"""Texts in the router at once (--max-concurrent-requests default); past it: 429."""
PAYLOAD_LIMIT: Final = 2_000_000
"""Request body bytes the router reads (--payload-limit default); past it: 413."""
HUB_CACHE: Final = "/opt/ml/model"

TUNING_VARIABLES: Final = (
    "MAX_CLIENT_BATCH_SIZE",
    "MAX_BATCH_TOKENS",
    "MAX_BATCH_REQUESTS",
    "MAX_CONCURRENT_REQUESTS",
    "PAYLOAD_LIMIT",
)
"""The router's limits a deployment may change (whole numbers, 1 or more)."""
FIXED_VARIABLES: Final = {
    "AUTO_TRUNCATE": "is set by the component: texts past the model's limit are cut there, as "
    "sentence-transformers does, instead of refused",
    "HUGGINGFACE_HUB_CACHE": "is set by the component to /opt/ml/model, the one place a "
    "serverless endpoint may write the model to",
    "API_KEY": "would make TEI demand a bearer token that SageMaker never sends: every "
    "invocation would be refused with 401",
}
"""Variables a deployment may not give TEI, and why."""
TOKEN_SINCE: Final = (1, 7, 0)
"""The first release whose router reads HF_TOKEN."""

MODEL_ID_VARIABLE: Final = "HF_MODEL_ID"
REVISION_VARIABLE: Final = "HF_MODEL_REVISION"
TOKEN_VARIABLE: Final = "HF_TOKEN"
"""The router's token variable from 1.7.0 (HF_API_TOKEN before, now deprecated; the router
refuses both at once), so a gated model needs an image from 1.7.0 on."""


def environment(model_id: str, revision: str | None) -> dict[str, str]:
    """The container's variables for a model, token aside (it is a secret, set by the caller).

    AUTO_TRUNCATE is on so that a text past the model's limit is cut there, as
    sentence-transformers does, instead of refused: TEI's default from 1.9.2, set for older tags."""
    variables = {
        MODEL_ID_VARIABLE: model_id,
        "AUTO_TRUNCATE": "true",
        "HUGGINGFACE_HUB_CACHE": HUB_CACHE,
        "MAX_CLIENT_BATCH_SIZE": str(MAX_CLIENT_BATCH_SIZE),
        "MAX_BATCH_TOKENS": str(MAX_BATCH_TOKENS),
    }
    if revision is not None:
        variables[REVISION_VARIABLE] = revision
    return variables
