#!/usr/bin/env bash
# Deploy the embedding endpoint: local Pulumi state, Python dependencies, the stack, `pulumi up`.
# Extra arguments go to `pulumi up`, e.g. `./scripts/deploy.sh --yes`.
set -euo pipefail
cd "$(dirname "$0")/.."

STACK=${STACK:-dev}
# The Python that `pulumi install` builds ./venv with: Pulumi's own variable, else python3.
export PULUMI_PYTHON_CMD=${PULUMI_PYTHON_CMD:-python3}

fail() {
    echo "error: $*" >&2
    exit 1
}

command -v pulumi >/dev/null 2>&1 ||
    fail "the Pulumi CLI is not installed; see https://www.pulumi.com/docs/iac/download-install/"
"$PULUMI_PYTHON_CMD" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    fail "Python 3.11 or newer is needed as $PULUMI_PYTHON_CMD (found: $("$PULUMI_PYTHON_CMD" \
--version 2>/dev/null || echo none)); point PULUMI_PYTHON_CMD at one, e.g. PULUMI_PYTHON_CMD=python3.11"
# 3.208 is the first CLI that honours the replacement trigger an auto-named endpoint relies on.
version=$(pulumi version 2>/dev/null | sed 's/^v//')
"$PULUMI_PYTHON_CMD" -c 'import sys; sys.exit(tuple(map(int, sys.argv[1].split(".")[:2])) < (3, 208))' \
    "${version%%-*}" 2>/dev/null ||
    fail "Pulumi CLI 3.208 or newer is needed (found: ${version:-none}); run \`pulumi self-update\`"

# State stays on this machine (~/.pulumi) unless you are already logged in to a backend.
if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
    pulumi login --local
fi

# Creates ./venv and installs requirements.txt, as Pulumi.yaml's runtime options say.
pulumi install

pulumi stack select --create "$STACK"

# The credentials, checked in the stack's region before Pulumi starts.
venv/bin/python - "$(pulumi config get aws:region 2>/dev/null || true)" <<'PY' || exit 1
import sys

import boto3
import botocore.exceptions

try:
    sts = boto3.client("sts", region_name=sys.argv[1] or "us-east-1")
    identity = sts.get_caller_identity()
except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
    sys.exit(f"error: no usable AWS credentials ({error}); run `aws configure` or set AWS_PROFILE")
print(f"Deploying as {identity['Arn']}")
PY

pulumi up "$@"
echo
echo "Endpoint: $(pulumi stack output endpoint_name) in $(pulumi stack output region)"
