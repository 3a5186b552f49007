#!/usr/bin/env bash
# Set up the development environment (once, and again whenever a requirements file changes)
# and run the test suite. Extra arguments go to pytest, e.g. `./scripts/test.sh -k program`.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-venv}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed; '$PYTHON' is $("$PYTHON" --version 2>/dev/null || echo missing)." >&2
    echo "       Point PYTHON at one, e.g. PYTHON=python3.11 ./scripts/test.sh" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment $VENV with $("$PYTHON" --version)." >&2
    "$PYTHON" -m venv "$VENV"
fi

# Re-install only when the requirement files change: a no-op pip run still costs seconds.
stamp="$VENV/.requirements.sha256"
wanted=$(cat requirements*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing requirements-dev.txt into $VENV: the first time, a few GB (torch, with" >&2
    echo "CUDA packages from PyPI) in about 5-10 minutes; later, only after a requirements change." >&2
    "$VENV/bin/python" -m pip install --disable-pip-version-check -r requirements-dev.txt
    echo "$wanted" > "$stamp"
fi

# -v names each test as it starts, so a slow one shows which it is (`-q` undoes it).
echo "Running the tests: a few minutes on two cores." >&2
exec "$VENV/bin/python" -m pytest -v "$@"
