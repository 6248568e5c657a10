"""The optimization report as one self-contained, offline HTML page.

Same rules as the run report (:mod:`promptwork.report.html`, whose CSP, style and escaping it
uses): nothing is fetched, nothing runs, charts are inline SVG, and every prompt text, note,
component and label is escaped (prompts and candidates are untrusted text: a proposer model
wrote some of them).
"""

from __future__ import annotations

from collections.abc import Sequence

from promptwork.optimizer.result import OptimizeResult, SplitScore, left_out_text
from promptwork.optimizer.state import Scored
from promptwork.report.html import esc, page_end, page_start, svg_open

__all__ = ["render_html"]

_STYLE = """
table.facts th { position: static; width: 190px; }
pre.diff span { display: block; } pre.diff .add { background: var(--pass-bg); }
pre.diff .del { background: var(--fail-bg); } pre.diff .hunk { color: #8250df; }
td.comp { max-width: 560px; white-space: pre-wrap; word-break: break-word; }
.verdict { font-weight: 600; } .sig { color: var(--pass); }
"""

_FINALIST, _DROPPED, _BEST = "#0969da", "#8c959f", "#1a7f37"


def render_html(result: OptimizeResult) -> str:
    """The report of ``result``: header, score-vs-calls chart, test comparison, diff, ablation
    and candidates, as one HTML document."""
    title = f"promptwork optimize: {result.plan.prompt_label}"
    out = [*page_start(title, _STYLE), "<header>", f"<h1>{esc(title)}</h1>"]
    if result.improved:
        out.append(f'<p class="meta">Best: {esc(result.best.note)} (validation '
                   f"{result.best_val:.3f}, seed {result.seed_val:.3f})</p>")
    else:
        out.append(f'<p class="meta">Nothing beat the seed prompt on validation '
                   f"({result.seed_val:.3f}).</p>")
    out += ["</header>", _facts(result)]
    out += ["<section><h2>Validation score against task-model calls</h2>", curve_svg(result),
            "</section>"]
    out += ["<section><h2>Seed vs best on the test split</h2>", _test_section(result),
            "</section>"]
    out += ["<section><h2>Diff: seed \u2192 best</h2>", _diff(result), "</section>"]
    if result.ablation:
        out += [f"<section><h2>Ablation of the best prompt ({esc(result.ablation_split)} "
                "split)</h2>", _ablation(result), "</section>"]
    out += ["<section><h2>Candidates</h2>", _candidates(result), "</section>"]
    return "\n".join(out) + "\n" + page_end()


def _facts(result: OptimizeResult) -> str:
    plan, budget = result.plan, result.budget
    cached = max(0, budget["used"] - budget["model_requests"])
    rows = [
        ("Prompt", f"{plan.prompt_label} (seed sha256 {plan.seed_hash[:12]})"),
        ("Suite", plan.suite_path or "(in memory)"),
        ("Task model", plan.task_model),
        ("Proposer", plan.proposer or "none"),
        ("Strategy", plan.strategy),
        ("Metric", "pass rate" if result.metric == "pass" else "weighted check score"),
        ("Seed", str(plan.seed)),
        ("Splits", f"{plan.split_text()} (ratios {plan.split_dict()['ratios']})"),
        ("Reference answers", plan.reference_source),
        *((f"Why {k}", v) for k, v in (("task model", plan.model_reason),
                                       ("task kind", f"{plan.task}: {plan.task_reason}"
                                        if plan.task_reason else ""),
                                       ("metric", plan.metric_reason),
                                       ("strategies", plan.strategy_reason)) if v),
        ("Search stopped", result.stop_reason or "(not recorded)"),
        ("Budget", f"{result.calls_used} of {budget['limit']} task-model calls used"),
        ("Search", f"{budget['used']} task-model calls ({budget['model_requests']} sent to the "
                   f"model, {cached} answered from the cache)"),
        ("After the search", f"{result.report_calls} task-model calls (test split: "
                             f"{budget.get('report_reserved', 0)} reserved; ablation: what was "
                             "left)"),
        ("Proposer calls", str(budget["proposer_calls"])),
    ]
    if result.run_id:
        rows.append(("Stored run", f"{result.run_id} (promptwork runs show {result.run_id})"))
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


# -- score against calls ------------------------------------------------------------------------

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 640, 320, 52, 16, 50, 44


def curve_svg(result: OptimizeResult) -> str:
    """The incumbent's validation score as a step line over task-model calls used, and every
    raced candidate as a dot (filled: scored on the whole validation split; hollow: dropped
    earlier, its mean over fewer examples)."""
    n_val = result.plan.sizes["val"]
    top_x = max([result.budget["limit"], *(c for c, _ in result.curve),
                 *(s.calls for s in result.history)]) or 1
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def x(calls: float) -> float:
        return _LEFT + plot_w * calls / top_x

    def y(score: float) -> float:
        return _TOP + plot_h * (1 - min(1.0, max(0.0, score)))

    parts = [svg_open(_W, _H, "Validation score against task-model calls used"),
             f'<text x="0" y="16" font-weight="600">Best validation score ({esc(result.metric)})'
             " by task-model calls used</text>"]
    for i in range(5):
        value = i / 4
        parts.append(f'<line x1="{_LEFT}" y1="{y(value):.1f}" x2="{_W - _RIGHT}" '
                     f'y2="{y(value):.1f}" stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
                     f'fill="#57606a">{value:.2f}</text>')
        calls = round(top_x * value)
        parts.append(f'<text x="{x(calls):.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle" '
                     f'fill="#57606a">{calls}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2:.0f}" y="{_H - 6}" text-anchor="middle" '
                 'fill="#57606a">task-model calls used (search)</text>')
    if result.curve:
        points: list[str] = []
        for i, (calls, score) in enumerate(result.curve):
            if i:
                points.append(f"{x(calls):.1f},{y(result.curve[i - 1][1]):.1f}")
            points.append(f"{x(calls):.1f},{y(score):.1f}")
        points.append(f"{x(result.budget['used']):.1f},{y(result.curve[-1][1]):.1f}")
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{_BEST}" '
                     'stroke-width="2"><title>best validation score so far</title></polyline>')
    best_hash = result.best.hash
    for scored in result.history:
        parts.append(_dot(scored, x(scored.calls), y(scored.mean), n_val, best_hash))
    legend_y = 32
    for offset, label, fill, stroke in (
        (0, "finalist (whole validation split)", _FINALIST, _FINALIST),
        (205, "dropped in the race", "#fff", _DROPPED), (345, "best", _BEST, _BEST),
    ):
        lx = _LEFT + 4 + offset
        parts.append(f'<circle cx="{lx}" cy="{legend_y}" r="4" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="1.5"/>')
        parts.append(f'<text x="{lx + 8}" y="{legend_y + 4}" fill="#57606a">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _dot(scored: Scored, cx: float, cy: float, n_val: int, best_hash: str) -> str:
    cand = scored.candidate
    full = scored.full(n_val)
    color = _BEST if cand.hash == best_hash else (_FINALIST if full else _DROPPED)
    fill = color if full else "#fff"
    radius = 6 if cand.hash == best_hash else 4
    tip = (f"{cand.note} ({cand.origin}): {scored.mean:.3f} on {scored.n} validation "
           f"example{'s' if scored.n != 1 else ''}, after {scored.calls} calls")
    return (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{fill}" '
            f'stroke="{color}" stroke-width="1.5" fill-opacity="0.8"><title>{esc(tip)}</title>'
            "</circle>")


# -- test split ---------------------------------------------------------------------------------


def interval_svg(rows: Sequence[tuple[str, SplitScore]]) -> str:
    """Horizontal bars of pass rates with their 95% Wilson intervals as whiskers."""
    label_w, plot_w, row_h, top = 70, 420, 32, 30
    width, height = label_w + plot_w + 230, top + row_h * len(rows) + 24
    parts = [svg_open(width, height, "Pass rate on the test split with 95% intervals"),
             '<text x="0" y="16" font-weight="600">Pass rate on the test split '
             "(95% Wilson interval)</text>"]
    for pct in (0, 25, 50, 75, 100):
        gx = label_w + plot_w * pct / 100
        parts.append(f'<line x1="{gx:.1f}" y1="{top - 2}" x2="{gx:.1f}" y2="{height - 20}" '
                     'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{gx:.1f}" y="{height - 6}" text-anchor="middle" '
                     f'fill="#57606a">{pct}%</text>')
    for i, (name, score) in enumerate(rows):
        ry = top + i * row_h
        rate = score.passed / score.n if score.n else 0.0
        fill = _BEST if name == "best" else "#54aeff"
        text = (f"{score.passed}/{score.n} = {100 * rate:.1f}% "
                f"[{100 * score.low:.1f}\u2013{100 * score.high:.1f}%]")
        parts.append(f'<text x="{label_w - 8}" y="{ry + 19}" text-anchor="end">{esc(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{ry + 6}" width="{plot_w * rate:.1f}" height="18" '
                     f'fill="{fill}"><title>{esc(text)}</title></rect>')
        x1, x2, mid = label_w + plot_w * score.low, label_w + plot_w * score.high, ry + 15
        parts.append(f'<line x1="{x1:.1f}" y1="{mid}" x2="{x2:.1f}" y2="{mid}" '
                     'stroke="#1f2328" stroke-width="1.5"/>')
        for wx in (x1, x2):
            parts.append(f'<line x1="{wx:.1f}" y1="{mid - 6}" x2="{wx:.1f}" y2="{mid + 6}" '
                         'stroke="#1f2328" stroke-width="1.5"/>')
        parts.append(f'<text x="{label_w + plot_w + 8}" y="{ry + 19}">{esc(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _test_section(result: OptimizeResult) -> str:
    seed, best, comparison = result.test_seed, result.test_best, result.comparison
    if seed is None or best is None:
        return ('<p class="note">No test split (its share is 0): seed and best were not '
                "compared on held-out examples.</p>")
    parts = [interval_svg([("seed", seed), ("best", best)])]
    head = ("<tr><th>Prompt</th><th>Validation</th><th>Test</th><th>Passed</th>"
            "<th>95% interval</th></tr>")
    body = "".join(
        f'<tr><td>{name}</td><td class="num">{val:.3f}</td><td class="num">{s.mean:.3f}</td>'
        f'<td class="num">{s.passed}/{s.n}</td><td class="num">{100 * s.low:.1f}%\u2013'
        f"{100 * s.high:.1f}%</td></tr>"
        for name, val, s in (("seed", result.seed_val, seed), ("best", result.best_val, best)))
    parts.append(f"<table><thead>{head}</thead><tbody>{body}</tbody></table>")
    if comparison is not None:
        if comparison.significant:
            sentence = '<span class="sig">significant at 5%</span>'
        else:
            sentence = "no significant difference at 5%"
        parts.append(
            f'<p class="verdict">Exact McNemar test, best vs seed on the same {comparison.n} '
            f"test examples: p = {comparison.p_value:.4g}, {sentence}.</p>"
            f'<p class="dim">{comparison.fixes} examples fixed, {comparison.regressions} '
            f"broken; {esc(comparison.verdict)}</p>")
    if result.test_left_out:
        parts.append(f'<p class="note">{esc(left_out_text(result.test_left_out))}</p>')
    return "".join(parts)


# -- diff, ablation, candidates -------------------------------------------------------------------


def _diff(result: OptimizeResult) -> str:
    diff = result.diff()
    if not diff:
        return "<p>The best prompt is the seed prompt.</p>"
    lines = []
    for line in diff.splitlines():
        kind = ("hunk" if line.startswith("@@") else "" if line.startswith(("+++", "---"))
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "")
        lines.append(f'<span class="{kind}">{esc(line) or " "}</span>' if kind
                     else f"<span>{esc(line) or ' '}</span>")
    return (f'<pre class="diff">{"".join(lines)}</pre><details><summary>the best prompt'
            f"</summary><pre>{esc(result.best.body)}</pre></details>")


def _bar(value: float, scale: float, width: int = 160, height: int = 14) -> str:
    """A bar from the middle: right and green for a positive value, left and red otherwise."""
    half = width / 2
    length = half * min(1.0, abs(value) / scale) if scale > 0 else 0.0
    x = half if value >= 0 else half - length
    color = _BEST if value > 0 else "#cf222e"
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="contribution {value:+.3f}"><rect x="{x:.1f}" y="2" '
            f'width="{length:.1f}" height="{height - 4}" fill="{color}"/><line x1="{half}" '
            f'y1="0" x2="{half}" y2="{height}" stroke="#57606a" stroke-width="1"/></svg>')


def _ablation(result: OptimizeResult) -> str:
    scale = max((abs(r.contribution) for r in result.ablation), default=0.0)
    rows = "".join(
        f'<tr><td class="comp">{esc(r.component)}</td><td>{esc(r.kind)}</td>'
        f'<td class="num">{r.without:.3f}</td><td class="num">{r.contribution:+.3f}</td>'
        f"<td>{_bar(r.contribution, scale)}</td></tr>"
        for r in result.ablation)
    return ('<p class="dim">Each component\'s contribution is the best prompt\'s score minus its '
            "score without that component.</p><table><thead><tr><th>Component</th><th>Kind</th>"
            "<th>Score without it</th><th>Contribution</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _candidates(result: OptimizeResult) -> str:
    n_val = result.plan.sizes["val"]
    rows = []
    for i, s in enumerate(result.history):
        cand = s.candidate
        status = "finalist" if s.full(n_val) else "dropped"
        if cand.hash == result.best.hash:
            status += " \u2605 best"
        row_class = ' class="best"' if cand.hash == result.best.hash else ""
        rows.append(
            f'<tr{row_class}><td class="num">{i}</td><td class="comp">{esc(cand.note)}</td>'
            f"<td>{esc(cand.origin)}</td><td class=\"num\">{s.n}/{n_val}</td>"
            f'<td class="num rate">{s.mean:.3f}</td><td class="num">{s.calls}</td>'
            f"<td>{status}</td></tr>")
    return ("<table><thead><tr><th>Order</th><th>Note</th><th>Origin</th><th>Validation examples"
            "</th><th>Mean</th><th>Calls used</th><th>Status</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
