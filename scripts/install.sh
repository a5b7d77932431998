#!/usr/bin/env bash
# Install everything mlpgrade needs on a fresh Debian/Ubuntu machine, idempotently:
# system packages (bubblewrap for the sandbox), the service's venv (.venv) and the student runtime
# (a separate venv with only NumPy 1.23.5 and matplotlib). `--test` adds the test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

if [ -f .ci/install-system.sh ]; then
    bash .ci/install-system.sh
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e ".${extras}"
.venv/bin/mlpgrade runtime install
.venv/bin/mlpgrade runtime install --assignment hw1p1-s21 >/dev/null
