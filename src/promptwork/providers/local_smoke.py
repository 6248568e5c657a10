"""``python -m promptwork.providers.local_smoke``: does the embedded model decode here?

The set-up script runs it once after installing llama-cpp-python: a build whose machine code this
CPU cannot run crashes the process, and that is better found at set-up than in the middle of a
run. Exits 0 after one greedy token of the default model, non-zero otherwise.
"""

from __future__ import annotations

import sys


def main() -> int:
    from llama_cpp import Llama

    from promptwork.providers.local_models import BUILTIN_MODELS

    path = BUILTIN_MODELS["gemma3-270m"].locate()
    llama = Llama(str(path), n_ctx=256, n_threads=1, verbose=False)
    out = llama("1, 2, 3,", max_tokens=2, temperature=0)
    text = out["choices"][0]["text"]  # type: ignore[index]
    print(f"embedded model decodes on this machine: {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
