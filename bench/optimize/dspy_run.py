"""One DSPy optimizer run for bench/optimize (run with DSPy's own interpreter, never ours).

Reads a task file written by run.py (seed instruction, train/val/test examples), optimizes the
one-predictor program ``input -> output`` with MIPROv2, GEPA or BootstrapFewShotWithRandomSearch
against the task model served by ``llama_cpp.server`` (text completion), with the proposer /
reflection model on a second server (chat), and prints one JSON line: test correctness of the
seed and optimized programs, task-model calls (search and test apart), proposer calls, seconds.

Fairness (see ../shared/notes/optimizer.md): the task prompt is the same text promptwork's seed
prompt renders (instruction, demos as ``Input:``/``Output:`` pairs, the query, ``Output:``), the
answer is the first line, decoding is greedy with a newline stop and 12 tokens, and the metric is
the same normalized exact match. Every task-model request counts (DSPy's cache is off).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from typing import Any

import dspy
import httpx

# Exit status when a llama_cpp.server goes away mid-run (run.py records nothing then); the same
# number is in run.py, which cannot import this file (it needs DSPy's environment).
SERVER_LOST = 75


def normalize(text: str) -> str:
    line = (text or "").strip().split("\n")[0].strip()
    return line.rstrip(".!").strip().lower()


class ServerLM(dspy.BaseLM):
    """A llama_cpp.server model: ``text`` (completions) or ``chat``; counts its requests."""

    def __init__(self, base: str, kind: str, max_tokens: int, temperature: float = 0.0,
                 stop: list[str] | None = None):
        super().__init__(model=f"openai/{kind}", model_type="chat", temperature=temperature,
                         max_tokens=max_tokens, cache=False, num_retries=0)
        self.base, self.kind, self.stop = base, kind, stop
        self.calls = 0
        self.limit: int | None = None
        self.client = httpx.Client(timeout=600)

    def forward(self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None,
                **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        max_tokens = min(int(kwargs.get("max_tokens") or self.kwargs["max_tokens"]),
                         int(self.kwargs["max_tokens"]))
        temperature = float(kwargs.get("temperature", self.kwargs["temperature"]) or 0.0)
        if messages is None:
            messages = [{"role": "user", "content": prompt or ""}]
        if self.kind == "text":
            text = "\n\n".join(str(m["content"]) for m in messages)
            body = {"prompt": text, "max_tokens": max_tokens, "temperature": temperature,
                    "stop": self.stop or ["\n"]}
            r = self.client.post(f"{self.base}/completions", json=body)
        else:
            body = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature}
            r = self.client.post(f"{self.base}/chat/completions", json=body)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        data.setdefault("usage", {})
        return data


class TaskAdapter(dspy.ChatAdapter):
    """The task signature as promptwork's seed prompt text; anything else as DSPy's chat format.

    With ``lenient`` (MIPROv2 runs), a proposer answer DSPy cannot parse becomes the text of the
    output fields instead of an error that ends the run (see ``lenient_fields``).
    """

    def __init__(self, lenient: bool = False) -> None:
        super().__init__(use_json_adapter_fallback=not lenient)
        self.lenient = lenient

    @staticmethod
    def _mine(signature: Any) -> bool:
        return list(signature.input_fields) == ["input"] and list(
            signature.output_fields) == ["output"]

    def format(self, signature: Any, demos: list[Any], inputs: dict[str, Any]) -> list[Any]:
        if not self._mine(signature):
            return super().format(signature, demos, inputs)
        parts = [signature.instructions.strip()] if signature.instructions.strip() else []
        shots = [f"Input: {d['input']}\nOutput: {d['output']}" for d in demos
                 if d.get("input") is not None and d.get("output") is not None]
        if shots:
            parts.append("\n\n".join(shots))
        parts.append(f"Input: {inputs['input']}\nOutput:")
        return [{"role": "user", "content": "\n\n".join(parts)}]

    def parse(self, signature: Any, completion: str) -> dict[str, Any]:
        if not self._mine(signature):
            try:
                return super().parse(signature, completion)  # type: ignore[no-any-return]
            except dspy.utils.exceptions.AdapterParseError:
                if not self.lenient:
                    raise
                return lenient_fields(signature, completion)
        return {"output": (completion or "").strip().split("\n")[0].strip()}


def lenient_fields(signature: Any, completion: str) -> dict[str, Any]:
    """The proposer's free text as every text output field (it rarely keeps DSPy's format).

    SmolLM2-135M answers in prose, never in ``[[ ## field ## ]]`` sections nor JSON, and DSPy
    stops MIPROv2 at the first such answer. promptwork tolerates a weak proposer the same way
    (its raw text is the candidate), so the benchmark gives MIPROv2 that tolerance too.
    """
    lines = [line for line in (completion or "").splitlines()
             if not line.strip().startswith(("[[ ##", "```"))]
    text = "\n".join(lines).strip()
    fields: dict[str, Any] = {}
    for name, field in signature.output_fields.items():
        if field.annotation not in (str, None):
            raise dspy.utils.exceptions.AdapterParseError(
                adapter_name="TaskAdapter", signature=signature, lm_response=completion,
                message=f"no lenient value for the non-text field {name}")
        fields[name] = text
    return fields


def metric(example: Any, pred: Any, trace: Any = None, pred_name: Any = None,
           pred_trace: Any = None) -> Any:
    got = normalize(getattr(pred, "output", "") or "")
    ok = float(got == normalize(example.output))
    if pred_name is None and pred_trace is None:
        return ok
    answer = getattr(pred, "output", "")
    feedback = ("Correct." if ok else
                f"Wrong: the answer was {answer!r}, expected {example.output!r}.")
    return dspy.Prediction(score=ok, feedback=feedback)


def plain_metric(example: Any, pred: Any, trace: Any = None) -> float:
    return float(normalize(getattr(pred, "output", "") or "") == normalize(example.output))


def evaluate(program: Any, examples: list[Any], samples: list[str]) -> list[int]:
    out = []
    for ex in examples:
        try:
            pred = program(input=ex.input)
            out.append(int(plain_metric(ex, pred)))
            answer = repr(getattr(pred, "output", None))
        except httpx.TransportError:
            raise  # the server went away: not a wrong answer (see SERVER_LOST)
        except Exception as exc:  # a parse failure is a wrong answer
            out.append(0)
            answer = f"{type(exc).__name__}: {exc}"[:200]
        if len(samples) < 5:
            samples.append(f"{ex.input[:60]!r} -> {answer} (gold {ex.output!r})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task-file", required=True)
    ap.add_argument("--method", choices=["mipro", "gepa", "bfsrs", "seed"], required=True)
    ap.add_argument("--budget", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--task-base", required=True)
    ap.add_argument("--proposer-base", required=True)
    ap.add_argument("--lenient", action="store_true",
                    help="proposer answers DSPy cannot parse become the output text (MIPROv2)")
    args = ap.parse_args()
    with open(args.task_file, encoding="utf-8") as f:
        task = json.load(f)

    def examples(rows: list[dict[str, str]]) -> list[Any]:
        return [dspy.Example(input=r["input"], output=r["output"]).with_inputs("input")
                for r in rows]

    train, val, test = (examples(task[k]) for k in ("train", "val", "test"))
    task_lm = ServerLM(args.task_base, "text", max_tokens=12)
    proposer = ServerLM(args.proposer_base, "chat", max_tokens=150, temperature=0.8)
    dspy.configure(lm=task_lm, adapter=TaskAdapter(lenient=args.lenient))
    signature = dspy.Signature("input -> output", instructions=task["instruction"])
    program = dspy.Predict(signature)
    random.seed(args.seed)
    start = time.perf_counter()
    error = None
    best = program
    b, n_val = args.budget, len(val)
    try:
        if args.method == "seed":
            pass  # no search: the seed program on the test split (server-side calibration)
        elif args.method == "bfsrs":
            # (N + 3) validation passes (DSPy adds zero-shot, labels-only and unshuffled
            # programs) plus bootstrapping: N chosen so that the total stays near the budget.
            n = max(1, round((b - 0.1 * b) / n_val) - 3)
            opt = dspy.BootstrapFewShotWithRandomSearch(
                metric=plain_metric, max_bootstrapped_demos=4, max_labeled_demos=4,
                num_candidate_programs=n, num_threads=1)
            best = opt.compile(program, trainset=train, valset=val)
        elif args.method == "mipro":
            trials = 6 if b <= 300 else 20
            batch = 20 if b <= 300 else 25
            opt = dspy.MIPROv2(metric=plain_metric, prompt_model=proposer, task_model=task_lm,
                               auto=None, num_candidates=4 if b <= 300 else 8,
                               max_bootstrapped_demos=4, max_labeled_demos=4, num_threads=1,
                               seed=args.seed, verbose=False)
            best = opt.compile(program, trainset=train, valset=val, num_trials=trials,
                               minibatch=True, minibatch_size=batch,
                               minibatch_full_eval_steps=10)
        else:
            opt = dspy.GEPA(metric=metric, max_metric_calls=b, reflection_lm=proposer,
                            num_threads=1, seed=args.seed, reflection_minibatch_size=3,
                            track_stats=False)
            best = opt.compile(program, trainset=train, valset=val)
    except httpx.TransportError:
        raise  # the server's failure, not the method's (see SERVER_LOST)
    except Exception as exc:  # reported, never hidden: the seed program stands
        error = f"{type(exc).__name__}: {exc}"[:500]
    search_s = time.perf_counter() - start
    search_calls, proposer_calls = task_lm.calls, proposer.calls
    samples: list[str] = []
    test_best = evaluate(best, test, samples)
    predictor = best.predictors()[0] if hasattr(best, "predictors") else None
    print(json.dumps({
        "search_calls": search_calls, "proposer_calls": proposer_calls,
        "search_seconds": round(search_s, 1), "test_best": test_best,
        "error": error, "samples": samples,
        "instruction": getattr(getattr(predictor, "signature", None), "instructions", None),
        "demos": len(getattr(predictor, "demos", []) or []),
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except httpx.TransportError as exc:
        print(f"llama_cpp.server unreachable: {exc}", file=sys.stderr)
        sys.exit(SERVER_LOST)
