"""Issue 29 item 8 over HTTP: error pages for browsers and JSON for API clients (by Accept),
the bearer scheme in the OpenAPI document (/docs' Authorize button), /metrics for a signed-in
staff browser, and the favicon."""

from __future__ import annotations

from tests.api.test_staff_pages import as_user

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_unknown_url_is_a_page_for_browsers_and_json_for_clients(client):
    page = client.get("/submissions", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Not found · mlpgrade</title>" in page.text
    assert "There is no page at this address" in page.text
    api = client.get("/submissions")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    # the API answers JSON even to a browser
    assert client.get("/api/v1/nothing", headers=HTML).json() == {"detail": "Not Found"}


def test_method_not_allowed_is_a_page_for_browsers(client):
    page = client.delete("/login", headers=HTML)
    assert page.status_code == 405 and "Method not allowed" in page.text


def test_openapi_declares_the_bearer_scheme_on_protected_routes(client):
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {"type": "http", "scheme": "bearer",
                                     "description": schemes["HTTPBearer"]["description"]}
    assert doc["paths"]["/api/v1/assignments"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in doc["paths"]["/health"]["get"]


def test_metrics_accepts_a_staff_browser_cookie(client, users):
    assert client.get("/metrics").status_code == 401
    assert as_user(client, users, "ta1").get("/metrics").text.startswith("# HELP")
    assert as_user(client, users, "alice").get("/metrics").status_code == 403
    client.cookies.clear()
    # a bearer token still wins over a cookie
    client.cookies.set("mlpgrade_token", "not-a-token")
    assert client.get("/metrics", headers=users.headers("prof")).status_code == 200
    assert client.get("/metrics").status_code == 401


def test_favicon_is_served(client):
    for path in ("/favicon.ico", "/static/favicon.svg"):
        reply = client.get(path)
        assert reply.status_code == 200 and reply.headers["content-type"] == "image/svg+xml"
        assert reply.text.startswith("<svg")


def test_a_crash_is_a_page_for_browsers_and_json_for_clients(backend, dispatcher, users):
    from fastapi.testclient import TestClient

    from submissions_api.main import create_app

    app = create_app(backend, dispatcher)

    def boom() -> None:
        raise RuntimeError("a bug of ours")
    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/boom", headers=HTML)
        assert page.status_code == 500 and "Something went wrong" in page.text
        assert "a bug of ours" not in page.text and "Traceback" not in page.text
        api = c.get("/boom")
        assert api.status_code == 500 and "internal error" in api.json()["detail"]
