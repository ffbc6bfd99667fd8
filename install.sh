#!/usr/bin/env bash
# tether-hooks bootstrap: a private venv, the `tether-hooks` command on PATH, hooks installed.
#
#   ./install.sh [--python PYTHON] [--mode permission|every-tool] [--no-hooks] [--extras all]
#
# Never prompts: safe to run without a terminal (CI, provisioning scripts).
# Run again (after `git pull`) to upgrade in place; `tether-hooks uninstall --purge` undoes it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=""
mode="permission"
hooks=1
extras="all"

while [ $# -gt 0 ]; do
  case "$1" in
    --python) python="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --no-hooks) hooks=0; shift ;;
    --extras) extras="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'tether-hooks: %s\n' "$*"; }

if [ -z "$python" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      python="$(command -v "$candidate")"
      break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "install.sh: Python 3.11 or newer is needed; pass --python /path/to/python3.11" >&2
  exit 1
fi

# The same places tether_hooks/paths.py uses.
if [ -n "${TETHER_HOOKS_HOME:-}" ]; then
  data_dir="$TETHER_HOOKS_HOME"
elif [ "$(uname -s)" = "Darwin" ]; then
  data_dir="$HOME/Library/Application Support/tether-hooks"
else
  data_dir="${XDG_DATA_HOME:-$HOME/.local/share}/tether-hooks"
fi
venv="$data_dir/venv"
bin_dir="${XDG_BIN_HOME:-$HOME/.local/bin}"

umask 077
mkdir -p "$data_dir"
# Run again over an install, this upgrades it in place: same venv, config and state kept,
# hooks re-installed (new events added), the listener restarted on the new version.
old_version=""
if "$venv/bin/python" -c '' >/dev/null 2>&1; then
  old_version="$("$venv/bin/tether-hooks" --version 2>/dev/null || true)"
elif [ -e "$venv" ]; then
  say "the virtual environment in $venv no longer runs (its Python is gone): recreating it"
  "$python" -m venv --clear "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  say "creating a virtual environment in $venv"
  "$python" -m venv "$venv"
fi
if [ -n "$old_version" ]; then
  say "upgrading the install in $venv (${old_version#tether-hooks, }); config and state are kept"
fi
say "installing the package (extras: $extras)"
spec="$here"
[ -n "$extras" ] && spec="$here[$extras]"
PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$venv/bin/python" -m pip install --quiet --upgrade "$spec" </dev/null

umask 022
mkdir -p "$bin_dir"
ln -sf "$venv/bin/tether-hooks" "$bin_dir/tether-hooks"
say "command: $bin_dir/tether-hooks ($("$venv/bin/tether-hooks" --version))"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) say "add $bin_dir to your PATH (e.g. in ~/.profile: export PATH=\"$bin_dir:\$PATH\")" ;;
esac

if [ "$hooks" = 1 ]; then
  found=0
  if command -v claude >/dev/null 2>&1 || [ -d "${CLAUDE_CONFIG_DIR:-$HOME/.claude}" ]; then
    found=1
    "$venv/bin/tether-hooks" install --agent claude --mode "$mode" </dev/null
  fi
  if command -v codex >/dev/null 2>&1 || [ -d "${CODEX_HOME:-$HOME/.codex}" ]; then
    found=1
    "$venv/bin/tether-hooks" install --agent codex </dev/null
  fi
  if [ "$found" = 0 ]; then
    say "neither Claude Code nor Codex found; installing the Claude Code hooks anyway"
    "$venv/bin/tether-hooks" install --agent claude --mode "$mode" </dev/null
  fi
fi
if "$venv/bin/tether-hooks" status --json 2>/dev/null </dev/null | "$venv/bin/python" -c \
     'import json, sys; sys.exit(0 if json.load(sys.stdin)["platforms"] else 1)'; then
  # A chat platform is configured: (re)start the listener so it runs the new version.
  "$venv/bin/tether-hooks" listener stop </dev/null >/dev/null 2>&1 || true
  "$venv/bin/tether-hooks" listener start </dev/null || say "the listener did not start: see 'tether-hooks listener logs'"
fi
say "done. Next: 'tether-hooks setup telegram --help', then 'tether-hooks doctor'."
