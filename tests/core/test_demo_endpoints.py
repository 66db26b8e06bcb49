"""The healthy demo service, as a real child process: every endpoint's status, shape and headers."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from pytest_prodgate.demo import DemoService

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
PRODUCT_KEYS = {"id", "sku", "name", "category", "price_cents", "stock", "created_at"}


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoService]:
    with DemoService.start(env={"PRODGATE_DEMO_FAULTS": ""}) as service:
        yield service


@pytest.fixture(scope="module")
def client(demo: DemoService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.base_url, timeout=5.0) as client:
        yield client


def test_home_is_html_with_a_secure_session_cookie_when_healthy(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Prodgate demo shop</h1>" in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=")
    assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}


def test_every_response_carries_the_security_headers_when_healthy(client: httpx.Client) -> None:
    for path in ("/", "/products", "/health", "/health/ready", "/nope", "/products/999999"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "server" not in response.headers


def test_products_are_paginated_when_page_and_per_page_are_given(client: httpx.Client) -> None:
    first = client.get("/products").json()
    assert (first["page"], first["per_page"], first["total"]) == (1, 20, 200)
    assert [item["id"] for item in first["items"]] == list(range(1, 21))
    assert set(first["items"][0]) == PRODUCT_KEYS
    page = client.get("/products", params={"page": 3, "per_page": 7}).json()
    assert [item["id"] for item in page["items"]] == list(range(15, 22))
    assert client.get("/products", params={"page": 99}).json()["items"] == []
    assert client.get("/products", params={"per_page": 1000}).json()["per_page"] == 100


def test_products_answer_400_when_page_is_not_a_positive_integer(client: httpx.Client) -> None:
    for bad in ("0", "-1", "two"):
        response = client.get("/products", params={"page": bad})
        assert response.status_code == 400
        assert "'page' must be a positive integer" in response.json()["error"]


def test_search_finds_products_by_name_when_q_is_given(client: httpx.Client) -> None:
    found = client.get("/search", params={"q": "espresso"}).json()
    assert found["query"] == "espresso"
    assert found["count"] == len(found["items"]) > 0
    assert all("espresso" in item["name"].lower() for item in found["items"])
    assert client.get("/search", params={"q": "no such thing"}).json() == {
        "query": "no such thing",
        "count": 0,
        "items": [],
    }
    assert client.get("/search").status_code == 400


def test_product_detail_answers_404_when_the_product_is_missing(client: httpx.Client) -> None:
    product = client.get("/products/42").json()
    assert product["id"] == 42 and product["sku"] == "SKU-00042" and set(product) == PRODUCT_KEYS
    for path in ("/products/999999", "/products/abc", "/products/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "error" in response.json()


def test_categories_list_and_category_products_when_the_slug_exists(client: httpx.Client) -> None:
    categories = client.get("/categories").json()["items"]
    assert len(categories) == 8
    assert sum(category["product_count"] for category in categories) == 200
    tea = client.get("/categories/tea").json()
    assert tea["category"]["slug"] == "tea"
    assert tea["count"] == len(tea["items"]) == next(c["product_count"] for c in categories if c["slug"] == "tea")
    assert {item["category"] for item in tea["items"]} == {"tea"}
    assert client.get("/categories/nope").status_code == 404


def test_version_and_health_endpoints_answer_ok_when_healthy(client: httpx.Client) -> None:
    assert client.get("/version").json() == {"version": "1.0.0"}
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["status"] == "ok"


def test_detailed_health_reports_each_check_when_healthy(client: httpx.Client) -> None:
    response = client.get("/health/detailed")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok" and data["version"] == "1.0.0" and data["uptime_seconds"] >= 0
    assert set(data["checks"]) == {"database", "event_loop", "disk", "memory"}
    for check in data["checks"].values():
        assert check["status"] == "ok"
        assert isinstance(check["latency_ms"], float)
    assert data["checks"]["memory"]["rss_bytes"] > 0


def test_unknown_paths_answer_404_json_and_other_methods_405(client: httpx.Client) -> None:
    missing = client.get("/admin")
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    for method in ("POST", "PUT", "DELETE"):
        response = client.request(method, "/products")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"


def test_head_answers_headers_without_a_body_when_asked(client: httpx.Client) -> None:
    response = client.head("/products")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_database_is_seeded_consistently_when_the_demo_starts(demo: DemoService) -> None:
    assert demo.database_url == f"sqlite:///{demo.db_path}" and demo.db_path.is_absolute()
    with sqlite3.connect(f"file:{demo.db_path}?mode=ro", uri=True) as conn:
        counts = [
            conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("categories", "products", "customers", "orders")
        ]
        assert counts == [8, 200, 100, 300]
        wrong = conn.execute(
            "SELECT COUNT(*) FROM orders AS o WHERE total_cents != (SELECT SUM(quantity * unit_price_cents) "
            "FROM order_items WHERE order_id = o.id) OR item_count != (SELECT SUM(quantity) FROM order_items "
            "WHERE order_id = o.id)"
        ).fetchone()[0]
        assert wrong == 0
        per_order = conn.execute("SELECT MIN(n), MAX(n) FROM (SELECT COUNT(*) AS n FROM order_items GROUP BY order_id)")
        assert per_order.fetchone() == (1, 5)
        newest = conn.execute("SELECT MAX(created_at) FROM orders").fetchone()[0]
        assert newest < dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
