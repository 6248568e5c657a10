"""The workbench's guard, with plain HTTP requests against a real uvicorn server on 127.0.0.1:
foreign Host refused (DNS rebinding), the token when bound elsewhere, Origin and CSRF on
state-changing requests, the CSP and no wildcard CORS."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from promptwork.store import Store
from promptwork.web.app import create_app
from promptwork.web.security import CSP, WebSettings, is_loopback

from .conftest import LiveServer, free_port

pytestmark = pytest.mark.server


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', html)
    assert found, "the page embeds no CSRF token"
    return found.group(1)


def test_pages_answer_on_the_bound_host(live: LiveServer) -> None:
    for host in (f"127.0.0.1:{live.port}", f"localhost:{live.port}"):
        r = httpx.get(f"{live.url}/runs", headers={"Host": host})
        assert r.status_code == 200, host


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1",
                                  "127.0.0.1:1", "127.0.0.1.evil.example:{port}", ""])
def test_foreign_host_is_refused(live: LiveServer, host: str) -> None:
    r = httpx.get(f"{live.url}/runs", headers={"Host": host.format(port=live.port)})
    assert r.status_code == 421
    assert "<table" not in r.text


def test_static_files_are_guarded_too(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/static/htmx.min.js", headers={"Host": "evil.example"})
    assert r.status_code == 421
    ok = httpx.get(f"{live.url}/static/htmx.min.js")
    assert ok.status_code == 200 and "htmx" in ok.text


def test_csp_and_headers_on_every_answer(live: LiveServer,
                                          web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][1]
    for path in ("/runs", f"/runs/{run}", f"/runs/{run}/cells/0/0/0/0", "/static/app.js",
                 "/no/such/page"):
        r = httpx.get(live.url + path)
        assert r.headers["content-security-policy"] == CSP, path
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "access-control-allow-origin" not in r.headers, path
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    assert "frame-ancestors 'none'" in CSP


def test_no_cors_for_a_foreign_origin(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/runs", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = httpx.options(f"{live.url}/runs/x/delete", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers


def test_post_without_csrf_token_is_refused(live: LiveServer,
                                            web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    r = httpx.post(f"{live.url}/runs/{run}/rename", data={"description": "hacked"},
                   headers={"Origin": live.url})
    assert r.status_code == 403
    wrong = httpx.post(f"{live.url}/runs/{run}/rename",
                       data={"description": "hacked", "csrf_token": "0" * 64},
                       headers={"Origin": live.url})
    assert wrong.status_code == 403
    assert Store(web_store[0]).get_run(run).description == "plain suite"


def test_cross_origin_post_is_refused_even_with_the_token(
        live: LiveServer, web_store: tuple[str, list[str]]) -> None:
    run = web_store[1][0]
    token = csrf_of(httpx.get(f"{live.url}/runs").text)
    for origin in ("http://evil.example", f"http://127.0.0.1:{live.port + 1}", "null"):
        r = httpx.post(f"{live.url}/runs/{run}/rename",
                       data={"description": "hacked", "csrf_token": token},
                       headers={"Origin": origin})
        assert r.status_code == 403, origin
    referer = httpx.post(f"{live.url}/runs/{run}/rename",
                         data={"description": "hacked", "csrf_token": token},
                         headers={"Referer": "http://evil.example/page"})
    assert referer.status_code == 403
    assert Store(web_store[0]).get_run(run).description == "plain suite"


def test_same_origin_post_with_token_works(tmp_path_factory: pytest.TempPathFactory) -> None:
    from .conftest import make_store
    url, ids = make_store(tmp_path_factory.mktemp("edit"))
    app = create_app(url, WebSettings(port=8484))
    client = TestClient(app, base_url="http://127.0.0.1:8484")
    token = csrf_of(client.get("/runs").text)
    origin = {"Origin": "http://127.0.0.1:8484"}
    r = client.post(f"/runs/{ids[0]}/rename", data={"description": "renamed <b>",
                                                     "csrf_token": token},
                    headers=origin, follow_redirects=False)
    assert r.status_code == 303
    assert Store(url).get_run(ids[0]).description == "renamed <b>"
    assert "renamed &lt;b&gt;" in client.get("/runs").text
    header = client.post(f"/runs/{ids[1]}/delete", headers={**origin, "X-CSRF-Token": token},
                         follow_redirects=False)
    assert header.status_code == 303
    assert ids[1] not in client.get("/runs").text
    assert client.get(f"/runs/{ids[1]}").status_code == 404


@pytest.fixture(scope="module")
def guarded(web_store: tuple[str, list[str]]) -> TestClient:
    # Served through the ASGI app directly: binding a real non-loopback address is not
    # possible on every machine; the middleware sees the same Host header either way.
    app = create_app(web_store[0], WebSettings(host="10.1.2.3", port=8484,
                                               token="s3cret-token-value"))
    return TestClient(app, base_url="http://10.1.2.3:8484")


class TestToken:
    """Bound to a non-loopback address, every request needs the token."""

    def test_a_token_is_required_to_bind_elsewhere(self) -> None:
        with pytest.raises(ValueError, match="token is required"):
            WebSettings(host="0.0.0.0")
        assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
        assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")

    def test_missing_token_refused(self, guarded: TestClient) -> None:
        for path in ("/runs", "/static/htmx.min.js", "/"):
            r = guarded.get(path, follow_redirects=False)
            assert r.status_code == 401, path

    def test_wrong_token_refused(self, guarded: TestClient) -> None:
        assert guarded.get("/runs?token=wrong").status_code == 401
        assert guarded.get("/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        guarded.cookies.set("pw_token", "wrong")
        assert guarded.get("/runs").status_code == 401
        guarded.cookies.clear()

    def test_right_token_in_url_sets_a_cookie(self, guarded: TestClient) -> None:
        r = guarded.get("/runs?token=s3cret-token-value&q=x", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/runs?q=x"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert guarded.get("/runs").status_code == 200  # the cookie now
        guarded.cookies.clear()
        bearer = guarded.get("/runs", headers={"Authorization": "Bearer s3cret-token-value"})
        assert bearer.status_code == 200
        assert "s3cret-token-value" not in bearer.text

    def test_token_does_not_lift_the_host_check(self, guarded: TestClient) -> None:
        r = guarded.get("/runs", headers={"Host": "127.0.0.1:8484",
                                          "Authorization": "Bearer s3cret-token-value"})
        assert r.status_code == 421


def test_real_server_bound_elsewhere_needs_the_token(web_store: tuple[str, list[str]]) -> None:
    """A real uvicorn on 127.0.0.1 configured as if reached by another name (its Host):
    plain HTTP without the token is refused, with it answered."""
    port = free_port()
    settings = WebSettings(host="0.0.0.0", port=port,
                           token="tok-123456789")
    app = create_app(web_store[0], settings)
    with LiveServer(app, "127.0.0.1", port) as server:
        host = {"Host": f"0.0.0.0:{port}"}
        assert httpx.get(f"{server.url}/runs", headers=host).status_code == 401
        ok = httpx.get(f"{server.url}/runs", headers={**host, "Authorization":
                                                      "Bearer tok-123456789"})
        assert ok.status_code == 200
        # Bound to every address, the machine's own names are answered, with the token only.
        named = {"Host": f"workstation.lan:{port}"}
        assert httpx.get(f"{server.url}/runs", headers=named).status_code == 401
        assert httpx.get(f"{server.url}/runs", headers={
            **named, "Authorization": "Bearer tok-123456789"}).status_code == 200
