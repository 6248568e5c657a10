"""``evaluateOptions.maxEvalTimeMs``: no request is sent once that long has passed since the run
began; the run is interrupted (resumable) and says why."""

from __future__ import annotations

from pathlib import Path

import promptwork as pw
from promptwork.limits import Limits, RunLimits
from promptwork.runner import RunConfig


def test_requests_stop_at_the_deadline_on_a_given_clock() -> None:
    now = [100.0]
    limits = RunLimits(Limits(max_time_s=2.0), clock=lambda: now[0])
    assert limits.allow(3) == 3
    now[0] = 101.9
    assert limits.allow(1) == 1 and limits.stopped is None
    now[0] = 102.0
    assert limits.allow(1) == 0
    assert limits.stopped == "evaluateOptions.maxEvalTimeMs 2000 reached (4 request(s) sent)"


def test_a_suites_time_limit_interrupts_the_run(tmp_path: Path) -> None:
    # Each call takes 50 ms, the limit is 1 ms: after the first answer the deadline has passed
    # whatever the machine's speed (only a lower bound on elapsed time is relied on).
    (tmp_path / "slow.py").write_text(
        "import time\ndef call_api(prompt, options, context):\n"
        "    time.sleep(0.05)\n    return {'output': prompt}\n", encoding="utf-8")
    suite = tmp_path / "promptfooconfig.yaml"
    suite.write_text("prompts: ['{{ n }}']\nproviders: ['file://slow.py']\n"
                     "evaluateOptions: {maxEvalTimeMs: 1, maxConcurrency: 1}\n"
                     "tests:\n" + "".join(f"  - vars: {{n: '{i}'}}\n" for i in range(6)),
                     encoding="utf-8")
    run = pw.evaluate(suite, config=RunConfig(use_cache=False))
    record = run.record
    assert record.status == "interrupted"  # resumable, as with --max-calls
    assert "evaluateOptions.maxEvalTimeMs 1 reached" in str(record.summary)
    assert len(run.rows()) <= 1  # at most the request sent before the first 50 ms answer
