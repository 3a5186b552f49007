#!/usr/bin/env bash
# Deploy the embedding endpoint: local Pulumi state, Python dependencies, the stack, `pulumi up`.
# Extra arguments go to `pulumi up`, e.g. `./scripts/deploy.sh --yes`.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-dev}

fail() {
    echo "error: $*" >&2
    exit 1
}

command -v pulumi >/dev/null 2>&1 ||
    fail "the Pulumi CLI is not installed; see https://www.pulumi.com/docs/iac/download-install/"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    fail "Python 3.11 or newer is needed as python3 (found: $(python3 --version 2>&1 || echo none))"

# State stays on this machine (~/.pulumi) unless you are already logged in to a backend.
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
    pulumi login --local
fi

# Creates ./venv and installs requirements.txt, as Pulumi.yaml's runtime options say.
pulumi install

venv/bin/python - <<'PY' || exit 1
import sys

import boto3
import botocore.exceptions

try:
    identity = boto3.client("sts").get_caller_identity()
except (botocore.exceptions.NoCredentialsError, botocore.exceptions.ClientError) as error:
    sys.exit(f"error: no usable AWS credentials ({error}); run `aws configure` or set AWS_PROFILE")
print(f"Deploying as {identity['Arn']}")
PY

pulumi stack select --create "$STACK"
pulumi up "$@"
echo
echo "Endpoint: $(pulumi stack output endpoint_name) in $(pulumi stack output region)"
