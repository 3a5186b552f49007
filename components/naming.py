"""Logical names of the component's children, derived from the component's own name.

Deriving every child's name from the component name is what lets two `EmbeddingEndpoint`s live
in one program. The model and the endpoint configuration are auto-named by Pulumi from these
logical names, so their length decides how long a component name may be.
"""

from __future__ import annotations

from typing import Final

from components.checks import shape

# Pulumi auto-names a resource `<logical name>-<7 hex characters>`.
AUTONAME_SUFFIX_LENGTH: Final = 8
SAGEMAKER_NAME_MAX: Final = shape("sagemaker", "ModelName")["max"]

ROLE: Final = "role"
EXECUTION_POLICY: Final = "execution-policy"
IAM_PROPAGATION: Final = "iam-propagation"
MODEL: Final = "model"
ENDPOINT_CONFIG: Final = "config"
ENDPOINT: Final = "endpoint"
CODE_BUCKET: Final = "code"
CODE_BUCKET_PUBLIC_ACCESS: Final = "code-public-access"
CODE_BUCKET_OWNERSHIP: Final = "code-ownership"
CODE_BUCKET_ENCRYPTION: Final = "code-encryption"
MODEL_ARCHIVE: Final = "model-archive"
MODEL_ARCHIVE_READ: Final = "model-archive-read"
LOG_GROUP: Final = "logs"
SCALING_TARGET: Final = "scaling-target"
SCALING_POLICY: Final = "scaling-policy"
ALARM_5XX: Final = "alarm-5xx"
ALARM_LATENCY: Final = "alarm-latency"
ALARM_SETUP: Final = "alarm-cold-start"
INVOKE_GRANT: Final = "invoke"

# Children whose physical name Pulumi derives from the logical name and that SageMaker (and S3,
# for the code bucket) limit to 63 characters.
_AUTONAMED_SAGEMAKER_CHILDREN: Final = (MODEL, ENDPOINT_CONFIG, ENDPOINT, CODE_BUCKET)

COMPONENT_NAME_MAX: Final = (
    SAGEMAKER_NAME_MAX
    - AUTONAME_SUFFIX_LENGTH
    - max(len(f"-{child}") for child in _AUTONAMED_SAGEMAKER_CHILDREN)
)


def child_name(component_name: str, child: str) -> str:
    """The logical name of one child of the component called `component_name`."""
    return f"{component_name}-{child}"


def managed_policy_attachment_name(component_name: str, policy_arn: str) -> str:
    """A logical name that follows the policy rather than its list position.

    Keyed on the policy's own name, reordering `managed_policy_arns` does not detach and
    re-attach anything.
    """
    return child_name(component_name, policy_arn.rsplit("/", 1)[-1])
