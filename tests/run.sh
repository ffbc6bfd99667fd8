#!/usr/bin/env bash
# The one test command: sets up everything the tests need, then runs them.
#   tests/run.sh [pytest args...]
# Creates .venv (Python >= 3.11) with the package and its dev extras, installs the pinned
# Claude Code and Codex binaries into tests/agents (npm ci), checks lint, runs pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$candidate"; break
    fi
  done
fi
[ -n "$python" ] || { echo "tests/run.sh: Python 3.11 or newer is needed" >&2; exit 1; }

export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c 'import tether_hooks, telegram, pytest' # fail early if the install failed

if [ ! -x tests/agents/node_modules/@anthropic-ai/claude-code-linux-x64/claude ] ||
   [ ! -d tests/agents/node_modules/@openai/codex ]; then
  npm ci --prefix tests/agents --no-audit --no-fund --loglevel=error
fi

# The interactive Claude Code tests drive a real terminal.
if ! command -v tmux >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
  else
    echo "tests/run.sh: tmux is needed for the interactive Claude tests (apt-get install tmux)" >&2
    exit 1
  fi
fi

# The shared-store tests start a real Redis (the Debian package).
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "tests/run.sh: redis-server is needed for the shared-store tests (apt-get install redis-server)" >&2
    exit 1
  fi
fi

.venv/bin/ruff check tether_hooks tests bench
.venv/bin/mypy tether_hooks  # strict, from [tool.mypy] in pyproject.toml
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
