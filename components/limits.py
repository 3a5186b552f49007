"""SageMaker and IAM limits that the settings are checked against.

The numbers come from the botocore service model and the SageMaker documentation; keeping them
in one place makes each validation message quote the same limit the service enforces.
"""

from __future__ import annotations

import re
from typing import Final

SERVERLESS_MEMORY_SIZES_MB: Final = (1024, 2048, 3072, 4096, 5120, 6144)
SERVERLESS_MAX_CONCURRENCY: Final = 200

SAGEMAKER_NAME_MAX: Final = 63
# Endpoint, endpoint-config and variant names.
ENDPOINT_NAME_PATTERN: Final = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Model names (also the rule the component name must follow, since child names derive from it).
MODEL_NAME_PATTERN: Final = re.compile(r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$")

# Pulumi auto-names a resource `<logical name>-<7 hex characters>`.
AUTONAME_SUFFIX_LENGTH: Final = 8

MODEL_ENVIRONMENT_MAX_ENTRIES: Final = 100
MODEL_ENVIRONMENT_MAX_LENGTH: Final = 1024
ENVIRONMENT_KEY_PATTERN: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

TAGS_MAX: Final = 50
TAG_KEY_MAX: Final = 128
TAG_VALUE_MAX: Final = 256
TAG_PATTERN: Final = re.compile(r"^[\w\s.:/=+\-@]*$")

PARTITIONS: Final = r"aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc"
ROLE_ARN_PATTERN: Final = re.compile(
    rf"^arn:(?:{PARTITIONS}):iam::\d{{12}}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{{1,64}}$"
)
POLICY_ARN_PATTERN: Final = re.compile(
    rf"^arn:(?:{PARTITIONS}):iam::(?:aws|\d{{12}}):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]{{1,128}}$"
)
