"""Ratings in the workbench over plain HTTP: rate a cell, withdraw, who rates (cookie, config),
the rating queue, judge agreement on the matrix and judges pages, and what is refused (no CSRF
token, a foreign Origin, a bad score, a bad name); hostile comments and names are escaped."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptwork.store import Store
from promptwork.store.ratings import run_ratings
from promptwork.web.app import create_app
from promptwork.web.security import WebSettings

from .inert import assert_inert
from .judged import GRADER, make_judged_store

BASE = "http://127.0.0.1:8484"


@pytest.fixture
def judged(tmp_path: Path) -> tuple[str, str]:
    """A fresh judged store per test (ratings change it)."""
    return make_judged_store(tmp_path)


def client_of(url: str, rater: str | None = "ada") -> TestClient:
    return TestClient(create_app(url, WebSettings(port=8484, rater=rater)), base_url=BASE)


def token(client: TestClient) -> str:
    found = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/runs").text)
    assert found
    return found.group(1)


def cell_url(run_id: str, test: int) -> str:
    return f"/runs/{run_id}/cells/{test}/0/0/0"


def ratings_of(url: str, run_id: str) -> list[tuple[int, bool, float | None, str | None, str]]:
    store = Store(url)
    try:
        return [(r.cell.test, r.passed, r.score, r.comment, r.rater)
                for r in run_ratings(store, run_id)]
    finally:
        store.close()


def test_a_rating_is_stored_and_shown_beside_the_automated_verdict(
        judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)
    answer = client.post(cell_url(run_id, 1) + "/rating", follow_redirects=False, data={
        "csrf_token": token(client), "verdict": "pass", "score": "0.75",
        "comment": "a stone, but fine", "next": ""})
    assert answer.status_code == 303
    assert answer.headers["location"] == cell_url(run_id, 1)
    assert ratings_of(url, run_id) == [(1, True, 0.75, "a stone, but fine", "ada")]
    html = client.get(cell_url(run_id, 1)).text
    # the automated verdict (the scripted judge failed "stone") stays, the rating is beside it
    assert re.search(r'class="automated fail">Automated verdict: <span class="st">FAIL', html)
    row = re.search(r'<tr class="rating pass mine">(.*?)</tr>', html, re.S)
    assert row and "ada" in row.group(1) and "0.75" in row.group(1)
    assert "a stone, but fine" in row.group(1) and "UTC" in row.group(1)
    assert "Withdraw my rating" in html
    # rating again replaces the rater's earlier rating
    client.post(cell_url(run_id, 1) + "/rating", data={
        "csrf_token": token(client), "verdict": "fail", "score": ""})
    assert ratings_of(url, run_id) == [(1, False, None, None, "ada")]


def test_withdraw_removes_the_raters_rating_only(judged: tuple[str, str]) -> None:
    url, run_id = judged
    ada, bob = client_of(url, "ada"), client_of(url, "bob")
    for client in (ada, bob):
        client.post(cell_url(run_id, 0) + "/rating", data={
            "csrf_token": token(client), "verdict": "pass"})
    answer = ada.post(cell_url(run_id, 0) + "/rating/withdraw", follow_redirects=False,
                      data={"csrf_token": token(ada), "next": f"/runs/{run_id}/rate"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/runs/{run_id}/rate"
    assert ratings_of(url, run_id) == [(0, True, None, None, "bob")]
    html = ada.get(cell_url(run_id, 0)).text
    assert "Withdraw my rating" not in html and ">bob<" in html
    json_answer = ada.post(cell_url(run_id, 0) + "/rating/withdraw",
                           headers={"X-CSRF-Token": token(ada), "Accept": "application/json"})
    assert json_answer.json() == {"ok": True, "withdrawn": 0}


def test_posts_without_the_csrf_token_or_from_another_origin_are_refused(
        judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)
    assert client.post(cell_url(run_id, 0) + "/rating",
                       data={"verdict": "pass"}).status_code == 403
    assert client.post(cell_url(run_id, 0) + "/rating",
                       data={"verdict": "pass", "csrf_token": "0" * 64}).status_code == 403
    assert client.post(cell_url(run_id, 0) + "/rating", headers={"Origin": "http://evil.test"},
                       data={"verdict": "pass", "csrf_token": token(client)}).status_code == 403
    assert client.post(cell_url(run_id, 0) + "/rating/withdraw",
                       headers={"Accept": "application/json"}).status_code == 403
    assert client.post("/rater", data={"name": "mallory"}).status_code == 403
    assert ratings_of(url, run_id) == []
    assert "mallory" not in client.get("/runs").text


@pytest.mark.parametrize(("score", "said"), [
    ("2", "the score must be a number from 0 to 1"),
    ("-0.1", "the score must be a number from 0 to 1"),
    ("abc", "the score must be a number from 0 to 1 (or left empty), got 'abc'"),
    ("nan", "the score must be a number from 0 to 1"),
])
def test_a_bad_score_is_refused_with_a_clear_message(
        judged: tuple[str, str], score: str, said: str) -> None:
    url, run_id = judged
    client = client_of(url)
    page = client.post(cell_url(run_id, 2) + "/rating", data={
        "csrf_token": token(client), "verdict": "pass", "score": score})
    assert page.status_code == 400 and said in unescape(page.text)
    as_json = client.post(cell_url(run_id, 2) + "/rating", data={"verdict": "fail",
                                                                  "score": score},
                          headers={"X-CSRF-Token": token(client), "Accept": "application/json"})
    assert as_json.status_code == 400 and said in as_json.json()["error"]
    no_verdict = client.post(cell_url(run_id, 2) + "/rating", data={"score": "0.5"},
                             headers={"X-CSRF-Token": token(client),
                                      "Accept": "application/json"})
    assert no_verdict.status_code == 400 and "pass or fail" in no_verdict.json()["error"]
    assert ratings_of(url, run_id) == []


def test_a_cell_that_does_not_exist_is_refused(judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)
    answer = client.post(f"/runs/{run_id}/cells/99/0/0/0/rating", data={
        "csrf_token": token(client), "verdict": "pass"})
    assert answer.status_code == 400 and "has no stored cell 0:0:99:0" in answer.text
    assert client.get(f"/runs/{run_id}/rate?cell=99.0.0.0").status_code == 404
    assert client.get(f"/runs/{run_id}/rate?cell=x.y").status_code == 400
    assert ratings_of(url, run_id) == []


def test_hostile_comment_and_rater_name_are_escaped(judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)
    name = "<script>alert(1)</script>"
    comment = "<img src=x onerror=alert(2)> \"'><svg onload=alert(3)>"
    assert client.post("/rater", follow_redirects=False, data={
        "csrf_token": token(client), "name": name, "next": "//evil.test/x"}
    ).headers["location"] == "/runs"  # only a local path is followed
    client.post(cell_url(run_id, 3) + "/rating", data={
        "csrf_token": token(client), "verdict": "fail", "comment": comment})
    assert ratings_of(url, run_id) == [(3, False, None, comment, name)]
    for path in (cell_url(run_id, 3), f"/runs/{run_id}/rate?cell=3.0.0.0", "/runs",
                 f"/runs/{run_id}", "/judges", "/rater"):
        html = client.get(path).text
        assert name not in html and comment not in html, path
        assert_inert(html)
    html = client.get(cell_url(run_id, 3)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_who_rates_is_set_in_the_ui_validated_and_shown(judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url, rater="ada")
    assert re.search(r'id="rater-name">ada</a>', client.get("/runs").text)
    for bad, said in (("", "empty"), ("x" * 101, "at most 100"), ("a\x07b", "printable")):
        answer = client.post("/rater", data={"csrf_token": token(client), "name": bad})
        assert answer.status_code == 400 and said in answer.text
    answer = client.post("/rater", follow_redirects=False, data={
        "csrf_token": token(client), "name": "  Grace   Hopper ", "next": f"/runs/{run_id}"})
    assert answer.status_code == 303 and answer.headers["location"] == f"/runs/{run_id}"
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert re.search(r'id="rater-name">Grace Hopper</a>', client.get("/runs").text)
    client.post(cell_url(run_id, 4) + "/rating", data={
        "csrf_token": token(client), "verdict": "fail"})
    assert ratings_of(url, run_id) == [(4, False, None, None, "Grace Hopper")]
    # a tampered cookie is ignored: back to the default name
    client.cookies.set("pw_rater", "%07bad")
    assert re.search(r'id="rater-name">ada</a>', client.get("/runs").text)


def test_the_default_rater_comes_from_the_config(
        judged: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, run_id = judged
    config = tmp_path / "config.toml"
    config.write_text('[ui]\nrater = "configured rater"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.setenv("PROMPTWORK_CONFIG", str(config))
    client = client_of(url, rater=None)
    assert re.search(r'id="rater-name">configured rater</a>', client.get("/runs").text)
    client.post(cell_url(run_id, 5) + "/rating", data={
        "csrf_token": token(client), "verdict": "pass"})
    assert ratings_of(url, run_id) == [(5, True, None, None, "configured rater")]


def test_the_queue_opens_on_the_first_unrated_cell_and_steps_by_url(
        judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)

    def queue(path: str) -> dict[str, str]:
        html = client.get(path).text
        found = re.search(r'<div id="queue" data-position="([^"]*)" data-prev="([^"]*)" '
                          r'data-next="([^"]*)" data-onward="([^"]*)">', html)
        assert found, html
        progress = re.search(r"rated (\d+) of (\d+) cells", html)
        assert progress
        return {"at": found.group(1), "prev": found.group(2), "next": found.group(3),
                "onward": found.group(4), "rated": progress.group(1),
                "total": progress.group(2)}

    first = queue(f"/runs/{run_id}/rate")
    assert first == {"at": "0.0.0.0", "prev": "", "next": f"/runs/{run_id}/rate?cell=1.0.0.0",
                     "onward": f"/runs/{run_id}/rate?cell=1.0.0.0", "rated": "0", "total": "6"}
    for test in (0, 2):
        client.post(cell_url(run_id, test) + "/rating", data={
            "csrf_token": token(client), "verdict": "pass"})
    assert queue(f"/runs/{run_id}/rate")["at"] == "1.0.0.0"  # unrated first
    at_one = queue(f"/runs/{run_id}/rate?cell=1.0.0.0")
    assert at_one["prev"].endswith("cell=0.0.0.0") and at_one["next"].endswith("cell=2.0.0.0")
    assert at_one["onward"].endswith("cell=3.0.0.0")  # 2 is rated: skipped
    assert at_one["rated"] == "2"
    last = queue(f"/runs/{run_id}/rate?cell=5.0.0.0")
    assert last["next"] == "" and last["onward"].endswith("cell=1.0.0.0")  # wraps round
    # bob's queue is his own
    assert queue_of_other(url, run_id) == "0.0.0.0"


def queue_of_other(url: str, run_id: str) -> str:
    html = client_of(url, "bob").get(f"/runs/{run_id}/rate").text
    found = re.search(r'data-position="([^"]*)"', html)
    assert found
    return found.group(1)


def judge_row(html: str) -> tuple[str, str]:
    row = re.search(r'<tr class="judge" data-check="llm-rubric" data-grader="([^"]+)">(.*?)</tr>',
                    html, re.S)
    assert row, html
    n = re.search(r'class="num judge-n">(\d+)<', row.group(2))
    kappa = re.search(r'class="num judge-kappa">(.*?)</td>', row.group(2), re.S)
    assert n and kappa and row.group(1) == GRADER
    return n.group(1), kappa.group(1)


def test_judge_agreement_on_the_matrix_and_judges_pages(judged: tuple[str, str]) -> None:
    url, run_id = judged
    client = client_of(url)
    assert "No rated cells with a model-graded check yet" in client.get(f"/runs/{run_id}").text
    # the judge passes apple and rock; a person passes apple and pear
    human = {0: "pass", 1: "fail", 2: "pass", 3: "fail"}
    for test, verdict in human.items():
        client.post(cell_url(run_id, test) + "/rating", data={
            "csrf_token": token(client), "verdict": verdict})
    n, kappa = judge_row(client.get(f"/runs/{run_id}").text)
    # judge/human: (T,T) (F,F) (F,T) (T,F): accuracy 0.5, p_e 0.5 -> kappa 0
    assert n == "4" and kappa.startswith("0.00 [")
    page = client.get("/judges").text
    assert judge_row(page)[0] == "4"
    assert f'data-run="{run_id}"' in page and "50.0%" in page
    client.post(cell_url(run_id, 3) + "/rating/withdraw", data={"csrf_token": token(client)})
    n, kappa = judge_row(client.get(f"/runs/{run_id}").text)
    assert n == "3" and not kappa.startswith("0.00")


def test_the_queue_and_judges_pages_of_a_hostile_run_are_inert(
        web_store: tuple[str, list[str]]) -> None:
    url, (_plain, evil) = web_store
    client = client_of(url)
    for path in (f"/runs/{evil}/rate", *(f"/runs/{evil}/rate?cell={t}.{p}.{m}.0"
                                         for t in range(10) for p, m in ((0, 0), (1, 1))),
                 "/judges"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "<script>document" not in answer.text and "onerror=\"" not in answer.text, path
        assert_inert(answer.text)
