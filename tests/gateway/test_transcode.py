"""JSON bodies in, proto3 JSON out, through a real gateway to the echo service: both spellings
accepted, lowerCamelCase written, every HttpRule body and response_body form, and a 400 naming
the field for a body the request message cannot hold."""

from __future__ import annotations

import httpx
import pytest


def _violations(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3
    found = {}
    for detail in body["details"]:
        assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        found |= {v["field"]: v["description"] for v in detail["fieldViolations"]}
    return found


async def test_the_body_is_the_request_in_either_spelling(api: httpx.AsyncClient):
    sent = {
        "display_name": "Ann",
        "inner": {"note": "x", "deeper": {"level": 2}},
        "inners": [{"level": 1}],
        "scores": {"a": 1},
        "when": "2026-01-02T03:04:05Z",
        "ttl": "2s",
        "mask": "displayName",
        "maybe": 0,
        "attributes": {"k": [True, None]},
        "extra": 5,
        "big": "12",
        "kind": 2,
        "limit": 0,
    }
    sample = (await api.post("/v1/samples", json=sent)).json()
    assert sample["displayName"] == "Ann"
    assert sample["inner"]["deeper"] == {"level": 2, "note": ""}
    assert sample["inners"] == [{"level": 1, "note": ""}]
    assert sample["scores"] == {"a": 1}
    assert (sample["when"], sample["ttl"], sample["mask"]) == (
        "2026-01-02T03:04:05Z",
        "2s",
        "displayName",
    )
    assert (sample["maybe"], sample["extra"], sample["big"]) == (0, 5.0, "12")
    assert sample["attributes"] == {"k": [True, None]}
    assert sample["kind"] == "LARGE"  # enums answer by name
    assert sample["limit"] == 0 and "nickname" not in sample  # optional: as sent
    assert sample["count"] == 0 and sample["tags"] == []  # no presence: always printed


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"nope": 1}, "nope", "unknown field"),
        ({"inner": {"deeper": {"nope": 1}}}, "inner.deeper.nope", "unknown field"),
        ({"inners": [{}, {"level": "x"}]}, "inners[1].level", "expected an integer"),
        ({"inners": {"level": 1}}, "inners", "expected a JSON array"),
        ({"inner": 5}, "inner", "expected a JSON object"),
        ({"scores": {"a": "b"}}, "scores.a", "expected an integer"),
        ({"count": 1.5}, "count", "expected an integer"),
        ({"count": True}, "count", "expected an integer"),
        ({"flag": "true"}, "flag", "expected true or false"),
        ({"kind": "HUGE"}, "kind", "expected one of KIND_UNSPECIFIED, SMALL, LARGE"),
        ({"when": "yesterday"}, "when", "expected an RFC 3339 time"),
        ({"ttl": 5}, "ttl", 'expected seconds with an "s"'),
        ({"attributes": [1]}, "attributes", "expected a JSON object"),
        ({"displayName": 5}, "displayName", "expected a string"),
    ],
)
async def test_a_body_the_message_cannot_hold_names_the_field(
    api: httpx.AsyncClient, body: dict, field: str, problem: str
):
    response = await api.post("/v1/samples", json=body)
    assert _violations(response)[field].startswith(problem)
    assert response.json()["message"].startswith(f"{field}: ")


async def test_two_members_of_a_oneof_in_the_body(api: httpx.AsyncClient):
    response = await api.post("/v1/samples", json={"text": "a", "number": 1})
    assert response.status_code == 400 and "oneof" in response.json()["message"]


@pytest.mark.parametrize(
    "content", [b"{", b"[1]", b'"text"', b"\xff\xfe", b"[" * 100_000, b'{"a":' * 50_000]
)
async def test_a_body_that_is_no_json_object(api: httpx.AsyncClient, content: bytes):
    response = await api.post(
        "/v1/samples", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["code"] == 3


async def test_a_body_nested_past_the_limit_is_a_400(api: httpx.AsyncClient):
    nested: object = 1
    for _ in range(150):
        nested = {"a": nested}
    response = await api.post("/v1/samples", json={"attributes": nested})
    assert _violations(response) == {"attributes": "nested too deeply"}


async def test_a_body_field_as_the_body(api: httpx.AsyncClient):
    response = await api.post("/v1/samples/s1:shout", json={"note": "hey", "level": 3})
    assert response.json()["inner"] == {"note": "hey", "level": 3}
    assert response.json()["id"] == "s1"
    response = await api.post("/v1/samples/s1:shout", json={"nope": 1})
    assert _violations(response) == {"inner.nope": "unknown field"}


async def test_a_path_variable_repeated_in_the_body(api: httpx.AsyncClient):
    assert (await api.put("/v1/samples/s1", json={"id": "s1", "count": 2})).json()["count"] == 2
    response = await api.put("/v1/samples/s1", json={"id": "s2"})
    assert _violations(response) == {"id": "the body says 's2' but the URL path says 's1'"}


async def test_an_aip_134_update(api: httpx.AsyncClient):
    response = await api.patch(
        "/v1/rooms/r1/samples/s1",
        params={"updateMask": "displayName,inner.level"},
        json={"name": "stale", "displayName": "Ann", "inner": {"level": 3}},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["sample"]["name"] == "rooms/r1/samples/s1"  # the URL path wins
    assert answer["updateMask"] == "displayName,inner.level"
    refused = await api.patch("/v1/rooms/r1/samples/s1", params={"sample.count": "1"}, json={})
    assert _violations(refused) == {"sample.count": "is set by the path or the body, not the query"}


async def test_response_body_answers_one_field(api: httpx.AsyncClient):
    response = await api.get("/v1/samples/s1/tags", params=[("tags", "a"), ("tags", "b")])
    assert response.json() == ["a", "b"]
    assert (await api.get("/v1/samples/s1/tags")).json() == []


async def test_every_verb_and_a_custom_one(api: httpx.AsyncClient):
    assert (await api.delete("/v1/samples/s1")).json()["id"] == "s1"
    search = await api.request("SEARCH", "/v1/samples", params={"displayName": "x"})
    assert search.json()["displayName"] == "x"
    assert (await api.put("/v1/samples/s1", json={})).json()["id"] == "s1"


async def test_a_route_without_body_refuses_one(api: httpx.AsyncClient):
    response = await api.request(
        "GET", "/v1/samples/s1", content=b'{"a": 1}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "takes no request body" in response.json()["message"]
