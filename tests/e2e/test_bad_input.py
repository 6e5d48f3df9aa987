"""Bad requests through the real gateway and records: the right 4xx, a google.rpc.Status body
naming the problem, never a 500, and nothing stored. Contact messages are written by anyone and
read by admins only."""

from __future__ import annotations

import httpx
import pytest

RECORDS = "/v1/collections/contact_messages/records"
GOOD = {"name": "Ann", "email": "ann@example.com", "message": "Hello"}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def api(module_api: httpx.Client) -> httpx.Client:
    return module_api


@pytest.fixture(scope="module")
def admin_api(module_admin_api: httpx.Client) -> httpx.Client:
    return module_admin_api


def _status(response: httpx.Response, http: int, code: int) -> dict:
    assert response.status_code == http, response.text
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], list)
    return body


def _violations(body: dict) -> dict[str, str]:
    found = {}
    for detail in body["details"]:
        if detail["@type"] == "type.googleapis.com/google.rpc.BadRequest":
            for violation in detail["fieldViolations"]:
                assert set(violation) == {"field", "description"}
                found[violation["field"]] = violation["description"]
    return found


def test_malformed_json(api: httpx.Client):
    body = _status(api.post(RECORDS, content=b'{"name": "Ann",', headers=JSON), 400, 3)
    assert "not valid JSON" in body["message"]


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_deeply_nested_json(api: httpx.Client, body: bytes):
    _status(api.post(RECORDS, content=body, headers=JSON), 400, 3)


def test_deep_but_valid_json_in_a_field(api: httpx.Client):
    nested: object = "x"
    for _ in range(150):
        nested = {"a": nested}
    body = _status(api.post(RECORDS, json={**GOOD, "message": nested}), 400, 3)
    assert "too deep" in body["message"]


def test_body_that_is_not_an_object(api: httpx.Client):
    body = _status(api.post(RECORDS, content=b"[1, 2]", headers=JSON), 400, 3)
    assert "JSON object" in body["message"]


@pytest.mark.parametrize("missing", ["name", "email", "message"])
def test_missing_required_field(api: httpx.Client, missing: str):
    data = {k: v for k, v in GOOD.items() if k != missing}
    body = _status(api.post(RECORDS, json=data), 400, 3)
    assert _violations(body) == {missing: "is required"}


def test_every_problem_is_reported_at_once(api: httpx.Client):
    body = _status(api.post(RECORDS, json={"email": "nope", "message": 5}), 400, 3)
    assert set(_violations(body)) == {"name", "email", "message"}


@pytest.mark.parametrize("address", ["ann", "ann@", "@example.com", "ann @example.com", "a@b@c"])
def test_bad_email(api: httpx.Client, address: str):
    body = _status(api.post(RECORDS, json={**GOOD, "email": address}), 400, 3)
    assert "not a valid email address" in _violations(body)["email"]


def test_unknown_field(api: httpx.Client):
    body = _status(api.post(RECORDS, json={**GOOD, "phone": "123"}), 400, 3)
    assert "unknown field" in _violations(body)["phone"]


def test_too_long_field(api: httpx.Client):
    body = _status(api.post(RECORDS, json={**GOOD, "message": "x" * 5001}), 400, 3)
    assert "at most 5000" in _violations(body)["message"]


def test_wrong_type(api: httpx.Client):
    body = _status(api.post(RECORDS, json={**GOOD, "name": ["Ann"]}), 400, 3)
    assert _violations(body)["name"] == "must be a string"


def test_two_mib_body(api: httpx.Client):
    big = {**GOOD, "message": "x" * (2 * 1024 * 1024)}
    body = _status(api.post(RECORDS, json=big), 413, 3)
    assert "larger than" in body["message"]


def test_wrong_content_type(api: httpx.Client):
    response = api.post(
        RECORDS, content=b"name=Ann", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert "application/json" in _status(response, 415, 3)["message"]


def test_unknown_path(api: httpx.Client):
    _status(api.get("/v1/nothing-here"), 404, 5)
    _status(api.post("/v1/collections/contact_messages/records/extra/segments", json=GOOD), 404, 5)


def test_unknown_collection(api: httpx.Client):
    body = _status(api.post("/v1/collections/nope/records", json=GOOD), 404, 5)
    assert "nope" in body["message"]


def test_unknown_record(admin_api: httpx.Client):
    _status(admin_api.get(f"{RECORDS}/01900000-0000-7000-8000-000000000000"), 404, 5)
    _status(admin_api.get("/v1/notifications/does-not-exist"), 404, 5)


def test_path_values_are_decoded_once(admin_api: httpx.Client):
    body = _status(admin_api.get(f"{RECORDS}/a%2541"), 404, 5)
    assert "'a%41'" in body["message"]


def test_wrong_method(api: httpx.Client):
    response = api.delete(RECORDS)
    _status(response, 405, 12)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "ten"}, "page_size"),
        ({"page_size": "-1"}, "page_size"),
        ({"page_size": "99999999999"}, "page_size"),
        ({"page_token": "garbage!"}, "page_token"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_parameters(admin_api: httpx.Client, params: dict, field: str):
    body = _status(admin_api.get(RECORDS, params=params), 400, 3)
    assert field in body["message"]


@pytest.mark.parametrize(
    "text",
    [
        "state = BOGUS",
        'nope = "x"',
        "state < SENT",
        '"; DROP TABLE notifications',
        "x" * 5000,
    ],
)
def test_bad_notification_filters(admin_api: httpx.Client, text: str):
    body = _status(admin_api.get("/v1/notifications", params={"filter": text}), 400, 3)
    assert "filter" in body["message"]


def test_nothing_bad_is_stored(api: httpx.Client, admin_api: httpx.Client):
    def stored() -> list[dict]:
        return admin_api.get(RECORDS, params={"page_size": 1000}).json()["records"]

    before = stored()
    for data in ({"name": "x"}, {**GOOD, "email": "bad"}, {**GOOD, "extra": 1}):
        assert api.post(RECORDS, json=data).status_code == 400
    assert stored() == before
    assert api.post(RECORDS, json=GOOD).status_code == 200
    assert len(stored()) == len(before) + 1


def test_odd_headers_never_break_a_request(admin_api: httpx.Client):
    odd = admin_api.get(RECORDS, headers=[(b"x-request-id", "é ü".encode("latin-1"))])
    assert odd.status_code == 200 and odd.headers["x-request-id"] != "é ü"
    bad_auth = admin_api.get(
        RECORDS, headers=[(b"authorization", "Bearer \xe9t\xe9".encode("latin-1"))]
    )
    assert bad_auth.status_code == 401 and bad_auth.json()["code"] == 16


def test_request_id_is_returned_and_generated(api: httpx.Client):
    assert api.get(RECORDS, headers={"x-request-id": "abc-1"}).headers["x-request-id"] == "abc-1"
    assert len(api.get(RECORDS).headers["x-request-id"]) >= 16


_HITS = 'joist_gateway_kept_document_lookups_total{result="hit"}'


def test_metrics_count_requests_and_upstream_errors(admin_api: httpx.Client):
    admin_api.get(RECORDS)
    admin_api.get(f"{RECORDS}/01900000-0000-7000-8000-000000000000")
    admin_api.get("/v1/nothing-here")
    response = admin_api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    route = "/v1/collections/{collection}/records"
    assert f'joist_gateway_requests_total{{method="GET",route="{route}",status="200"}}' in text
    assert 'joist_gateway_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert (
        'joist_gateway_upstream_errors_total{code="NOT_FOUND",rpc="joist.v1.RecordsService.GetRecord"}'
        in text
    )
    assert (
        f'joist_gateway_request_duration_seconds_bucket{{le="0.1",method="GET",route="{route}"}}'
        in text
    )


def test_metrics_show_the_rendered_records_kept_between_lists(admin_api: httpx.Client):
    created = admin_api.post(RECORDS, json=GOOD)
    assert created.status_code == 200, created.text

    def hits() -> float:
        text = admin_api.get("/metrics").text
        line = next(x for x in text.splitlines() if x.startswith(_HITS))
        return float(line.split()[-1])

    before = hits()
    first, again = admin_api.get(RECORDS).json(), admin_api.get(RECORDS).json()
    assert again == first and first["records"]
    assert hits() >= before + len(first["records"])  # the second list rendered none again
    assert "joist_gateway_kept_documents " in admin_api.get("/metrics").text
