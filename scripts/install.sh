#!/usr/bin/env bash
# Install everything mlpgrade needs on a fresh Debian/Ubuntu machine, idempotently:
# system packages (bubblewrap for the sandbox), the service's venv (.venv) and the student runtime
# (a separate venv with only NumPy 1.23.5 and matplotlib). `--test` adds the test dependencies and
# axe-core (npm's accessibility checker the browser tests inject) in .venv/share/axe-core.
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
.venv/bin/mlpgrade runtime install >/dev/null
.venv/bin/mlpgrade runtime install --assignment hw1p1-s21 >/dev/null
if [ -n "$extras" ] && [ ! -f .venv/share/axe-core/axe.min.js ]; then
    if command -v npm >/dev/null 2>&1; then
        axe_tmp=$(mktemp -d)
        (cd "$axe_tmp" && npm pack --silent axe-core@4 >/dev/null && tar -xzf axe-core-*.tgz)
        mkdir -p .venv/share/axe-core
        cp "$axe_tmp/package/axe.min.js" "$axe_tmp/package/LICENSE" .venv/share/axe-core/
        rm -rf "$axe_tmp"
    else
        echo "WARNING: no npm: the browser tests' accessibility checks (axe-core) will not run" >&2
    fi
fi
home="${MLPGRADE_HOME:-$([ "$(id -u)" = 0 ] && echo /var/lib/mlpgrade || echo ~/.local/share/mlpgrade)}"
echo "mlpgrade is installed; data folder $home (MLPGRADE_HOME; the student runtime lives there)."
# the next command names the data folder when it is not the default, so it also works from a
# new shell that never exported MLPGRADE_HOME (serve would look for the runtime elsewhere)
in_home="${MLPGRADE_HOME:+MLPGRADE_HOME=$(printf %q "$MLPGRADE_HOME") }"
if [ -n "$extras" ]; then
    echo "Next: ${in_home}.venv/bin/python -m pytest -q"
else
    echo "Next: ${in_home}.venv/bin/mlpgrade serve --port 8000     (then open http://127.0.0.1:8000)"
fi
