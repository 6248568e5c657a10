"""Screenshots of the workbench for the README: the matrix, compare and playground pages.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/img]

Builds a small demo store in a temporary folder (a support-reply suite, two prompts x two
models, run twice: a baseline and a revised run; the models are ``scripted`` fakes, so nothing
leaves the machine), serves the workbench on 127.0.0.1 (uvicorn in a thread), drives Debian's
chromium with Playwright and writes ``matrix.png``, ``compare.png`` and ``playground.png``.
Re-run it after a change to the templates or the CSS.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [
    ("Ada", "Where is my order #1042?", "order"),
    ("Ben", "How do I reset my password?", "password"),
    ("Chen", "Can I get a refund for a damaged mug?", "refund"),
    ("Dana", "Do you ship to Norway?", "ship"),
    ("Eli", "My invoice shows the wrong address.", "invoice"),
    ("Fay", "How long does delivery take?", "delivery"),
    ("Gus", "Can I change the colour after ordering?", "change"),
    ("Hana", "Is there a student discount?", "discount"),
]
# Answers of the two fake models: (baseline run, revised run) per question; "" = a wrong answer.
ANSWERS = {
    "order": "Your order #1042 left our warehouse yesterday; it should arrive on Friday.",
    "password": "Open Settings, choose Security, then Reset password; a link is emailed to you.",
    "refund": "Sorry about the mug! Reply with a photo and we will refund you within 3 days.",
    "ship": "Yes, we ship to Norway; delivery takes 4 to 6 working days.",
    "invoice": "I have corrected the address; a new invoice is on its way to your inbox.",
    "delivery": "Delivery usually takes 2 to 3 working days.",
    "change": "You can change the colour until the order ships: open it and choose Edit.",
    "discount": "Students get 10% off with a valid student email address.",
}
OFF = "Thank you for contacting us. Please visit our help centre for more information."
PROMPT = """---
inputs:
  customer: {type: string, default: Ada}
---
system:
You are a friendly support agent for a small online shop. Answer in one sentence.

user:
{{ customer }} asks: {{ question }}
"""


def _answers(prompt_word: str, misses: set[str]) -> dict[str, Any]:
    """Scripted answers: each question's rendered prompt (by its key word) to an answer."""
    out: dict[str, Any] = {}
    for customer, question, key in QUESTIONS:
        text = OFF if key in misses else ANSWERS[key]
        out[f"{prompt_word} {customer} asks: {question}"] = text
    out["*"] = OFF
    return out


def build_demo(folder: Path) -> tuple[str, list[str]]:
    """The demo store: a baseline run and a revised run. Returns its URL and the run ids."""
    import yaml

    import promptwork as pw
    from promptwork.providers.base import Provider
    from promptwork.providers.scripted import ScriptedProvider

    (folder / "reply.prompt").write_text(PROMPT, encoding="utf-8")
    db = f"sqlite:///{folder / 'demo.db'}"
    suite = folder / "suite" / "promptwork.yaml"
    suite.parent.mkdir()
    suite.write_text(yaml.safe_dump({
        "description": "support replies",
        "prompts": [{"id": "Reply briefly. {{ customer }} asks: {{ question }}", "label": "brief"},
                    {"id": "Reply warmly. {{ customer }} asks: {{ question }}", "label": "warm"}],
        "providers": [{"id": "scripted", "label": "model-a"},
                      {"id": "scripted", "label": "model-b"}],
        "tests": [{"vars": {"customer": c, "question": q},
                   "assert": [{"type": "icontains", "value": key, "metric": "on-topic"},
                              {"type": "not-icontains", "value": "help centre"}]}
                  for c, q, key in QUESTIONS],
    }, sort_keys=False), encoding="utf-8")
    ids = []
    # Which questions each model gets wrong, under each prompt: a baseline run, then a run
    # after the models were "revised" (a fix and a regression to find on the compare page).
    for misses in ({"brief": ({"refund", "invoice", "discount"}, {"refund", "ship"}),
                    "warm": ({"invoice"}, {"ship", "delivery"})},
                   {"brief": ({"discount", "change"}, {"refund"}),
                    "warm": ({"discount"}, {"delivery"})}):
        models: dict[int, Provider] = {}
        for index in (0, 1):
            answers = {**_answers("Reply briefly.", misses["brief"][index]),
                       **_answers("Reply warmly.", misses["warm"][index])}
            models[index] = ScriptedProvider(answers, label=f"model-{'ab'[index]}")
        config = pw.RunConfig(use_cache=False)  # both fakes are "scripted": no shared cache
        ids.append(pw.evaluate(suite, db=db, providers=models, config=config).id)
    from promptwork.cases import CellKey
    from promptwork.store import Store
    from promptwork.store.ratings import add_rating

    store = Store(db)  # a reviewer's human ratings of a few cells (the matrix marks them)
    for cell, passed in ((CellKey(0, 0, 0, 0), True), (CellKey(1, 1, 2, 0), True),
                         (CellKey(0, 0, 6, 0), False)):
        add_rating(store, ids[-1], cell, passed=passed, rater="sam")
    store.close()
    return db, ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shoot(out: Path) -> list[Path]:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from promptwork.web.app import create_app
    from promptwork.web.security import WebSettings

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium: apt-get install chromium")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pw-shots-") as tmp:
        folder = Path(tmp)
        db, (base, revised) = build_demo(folder)
        port = _free_port()
        app = create_app(db, WebSettings(port=port), root=folder)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        written = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 860})
                page.goto(f"{url}/runs/{revised}")
                page.wait_for_selector("td.test")
                written.append(_save(page, out / "matrix.png"))
                page.goto(f"{url}/compare?a={base}&b={revised}&test=2")
                page.wait_for_selector("table")
                written.append(_save(page, out / "compare.png"))
                page.goto(f"{url}/playground?file=reply.prompt")
                page.wait_for_selector('textarea[name="var:question"]')
                page.fill('textarea[name="var:question"]', "Can I return a mug I bought as a gift?")
                boxes = page.locator('input[name="model"]')
                for i in range(boxes.count()):  # the echo model only: no model to load
                    box = boxes.nth(i)
                    box.set_checked(box.get_attribute("value") == "echo")
                page.click("#run")
                page.wait_for_selector('#answers section[data-done="1"]', timeout=30_000)
                written.append(_save(page, out / "playground.png"))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(10)
    return written


def _save(page: Any, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=False, animations="disabled")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args()
    for path in shoot(Path(args.out)):
        print(f"{path} ({path.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
