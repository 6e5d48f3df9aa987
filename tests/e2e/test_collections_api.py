"""Collections and records over REST, through the real gateway and records processes: the JSON
a front end sends and gets back (DESIGN.md, "Resources as a front end sees them")."""

from __future__ import annotations

import httpx
import pytest

POSTS = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "TEXT", "required": True, "maxLength": 200},
        {"name": "views", "type": "INTEGER", "default": 0},
        {"name": "published", "type": "DATETIME"},
        {"name": "tags", "type": "JSON"},
    ],
    "indexes": [{"fields": ["views"]}],
    "rules": {"list": "PUBLIC", "get": "PUBLIC", "create": "AUTHENTICATED"},
}
RECORDS = "/v1/collections/posts/records"


@pytest.fixture(scope="module")
def api(module_admin_api: httpx.Client) -> httpx.Client:
    created = module_admin_api.post("/v1/collections", json=POSTS)
    assert created.status_code == 200, created.text
    return module_admin_api


def _ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def _error(response: httpx.Response, http: int) -> dict:
    assert response.status_code == http, response.text
    return response.json()


def test_collection_json_is_the_documented_shape(api: httpx.Client):
    posts = _ok(api.get("/v1/collections/posts"))
    assert posts["name"] == "posts"
    title = {"name": "title", "type": "TEXT", "required": True, "maxLength": 200}
    assert posts["fields"][0].items() >= title.items()
    assert posts["fields"][0]["id"]
    assert posts["fields"][1]["default"] == 0
    assert posts["indexes"] == [{"fields": ["views"], "unique": False}]
    assert posts["rules"] == {
        "list": "PUBLIC",
        "get": "PUBLIC",
        "create": "AUTHENTICATED",
        "update": "ADMIN",
        "delete": "ADMIN",
    }
    names = [c["name"] for c in _ok(api.get("/v1/collections"))["collections"]]
    assert names == sorted(names) and {"contact_messages", "posts"} <= set(names)


def test_record_crud_with_etags_and_masks(api: httpx.Client):
    body = {"title": "Hello", "views": 3, "tags": ["a", {"b": 1}]}
    record = _ok(api.post(RECORDS, json=body))
    assert set(record) == {"id", "collection", "createTime", "updateTime", "etag", "owner", "data"}
    assert record["data"] == body
    assert _ok(api.get(f"{RECORDS}/{record['id']}")) == record

    changed = _ok(
        api.patch(
            f"{RECORDS}/{record['id']}",
            params={"update_mask": "views", "etag": record["etag"]},
            json={"views": 4, "title": "ignored"},
        )
    )
    assert changed["data"]["views"] == 4 and changed["data"]["title"] == "Hello"
    stale = api.patch(
        f"{RECORDS}/{record['id']}", params={"etag": record["etag"]}, json={"views": 5}
    )
    assert _error(stale, 409)["code"] == 10
    assert _ok(api.delete(f"{RECORDS}/{record['id']}", params={"etag": changed["etag"]})) == {}
    assert _error(api.get(f"{RECORDS}/{record['id']}"), 404)["code"] == 5


def test_idempotent_create_and_batch(api: httpx.Client):
    first = _ok(api.post(RECORDS, params={"request_id": "r-1"}, json={"title": "Once"}))
    again = _ok(api.post(RECORDS, params={"request_id": "r-1"}, json={"title": "Once"}))
    assert again["id"] == first["id"]
    batch = {"requests": [{"data": {"title": f"b{i}", "views": 100 + i}} for i in range(3)]}
    created = _ok(api.post(f"{RECORDS}:batchCreate", json=batch))["records"]
    assert [r["data"]["title"] for r in created] == ["b0", "b1", "b2"]
    large = {"requests": [{"data": {"title": f"L{i}", "views": i}} for i in range(40)]}
    created = _ok(api.post(f"{RECORDS}:batchCreate", json=large))["records"]  # on a thread
    assert [r["data"]["views"] for r in created] == list(range(40))
    bad = {"requests": [{"data": {"title": "ok"}}, {"data": {"views": "x"}}]}
    body = _error(api.post(f"{RECORDS}:batchCreate", json=bad), 400)
    fields = {v["field"] for d in body["details"] for v in d.get("fieldViolations", [])}
    assert fields == {"requests[1].title", "requests[1].views"}


def test_filter_order_and_pages(api: httpx.Client):
    for i in range(12):
        _ok(api.post(RECORDS, json={"title": f"page {i}", "views": 1000 + i}))
    seen: list[int] = []
    token = ""
    while True:
        params = {"filter": "views >= 1000", "order_by": "views desc", "page_size": 5}
        page = _ok(api.get(RECORDS, params={**params, "page_token": token}))
        seen += [r["data"]["views"] for r in page["records"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert seen == list(range(1011, 999, -1))
    good = _ok(api.get(RECORDS, params={"page_size": 1}))["nextPageToken"]
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert _error(api.get(RECORDS, params={"page_token": tampered}), 400)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"filter": "views = 'abc'"}, "views"),
        ({"filter": "nope = 1"}, "nope"),
        ({"filter": 'title = "x" OR 1=1; DROP TABLE records_posts'}, "filter"),
        ({"filter": "(" * 200 + "views = 1" + ")" * 200}, "filter"),
        ({"filter": "views = 1 AND " * 1000 + "views = 1"}, "filter"),
        ({"order_by": "published"}, "published"),
        ({"order_by": "views sideways"}, "order_by"),
    ],
)
def test_bad_queries_are_400_naming_the_problem(api: httpx.Client, params: dict, needle: str):
    body = _error(api.get(RECORDS, params=params), 400)
    assert needle in body["message"] + str(body["details"])
    assert _ok(api.get("/v1/collections/posts"))["name"] == "posts"


def test_schema_changes_over_rest(api: httpx.Client):
    _ok(
        api.post(
            "/v1/collections", json={"name": "notes", "fields": [{"name": "body", "type": "TEXT"}]}
        )
    )
    note = _ok(api.post("/v1/collections/notes/records", json={"body": "kept"}))
    current = _ok(api.get("/v1/collections/notes"))
    fields = [
        {**current["fields"][0], "name": "text"},
        {"name": "stars", "type": "INTEGER", "default": 1},
    ]
    updated = _ok(
        api.patch(
            "/v1/collections/notes",
            params={"update_mask": "fields"},
            json={"fields": fields, "etag": current["etag"]},
        )
    )
    assert [f["name"] for f in updated["fields"]] == ["text", "stars"]
    got = _ok(api.get(f"/v1/collections/notes/records/{note['id']}"))
    assert got["data"] == {"text": "kept", "stars": 1}
    lossy = [{**updated["fields"][0], "type": "INTEGER"}, updated["fields"][1]]
    assert _error(api.patch("/v1/collections/notes", json={"fields": lossy}), 400)["code"] == 9
    assert _error(api.post("/v1/collections", json={"name": "notes"}), 409)["code"] == 6
    assert _error(api.delete("/v1/collections/notes"), 400)["code"] == 9
    assert _ok(api.delete("/v1/collections/notes", params={"force": "true"})) == {}
    assert _error(api.get("/v1/collections/notes/records"), 404)["code"] == 5


@pytest.mark.parametrize(
    "definition",
    [
        {"name": "Bad Name"},
        {"name": "x", "fields": [{"name": "a", "type": "NOPE"}]},
        {"name": "x", "fields": [{"name": "a"}]},
        {"name": "x", "fields": [{"name": "owner", "type": "TEXT"}]},
        {"name": "x", "fields": [{"name": "a", "type": "SELECT", "options": []}]},
        {"name": "x", "fields": "not a list"},
        {"name": "x", "rules": {"list": "EVERYONE"}},
    ],
)
def test_bad_definitions_are_400(api: httpx.Client, definition: dict):
    assert _error(api.post("/v1/collections", json=definition), 400)["code"] == 3
    assert _error(api.get("/v1/collections/x"), 404)


def test_collections_come_a_page_at_a_time(api: httpx.Client):
    names: list[str] = []
    token = ""
    while True:
        page = _ok(api.get("/v1/collections", params={"page_size": 1, "page_token": token}))
        names += [c["name"] for c in page["collections"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert names == sorted(set(names)) and {"contact_messages", "posts"} <= set(names)
    first = _ok(api.get("/v1/collections", params={"page_size": 1}))["nextPageToken"]
    tampered = first[:-1] + ("A" if first[-1] != "A" else "B")
    assert _error(api.get("/v1/collections", params={"page_token": tampered}), 400)
    assert _error(api.get("/v1/collections", params={"page_token": "posts"}), 400)
