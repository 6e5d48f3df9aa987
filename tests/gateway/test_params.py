"""Path variables and query parameters, through a real gateway to the echo service: what each
kind of field takes from the URL, and a 400 naming the parameter for what it does not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.gateway.params import MAX_QUERY_PARAMETERS


async def _echo(api: httpx.AsyncClient, params: Any = None, path: str = "/v1/samples/s1") -> dict:
    response = await api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _refused(api: httpx.AsyncClient, params: Any, path: str = "/v1/samples/s1") -> dict:
    response = await api.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 3
    return body


def _violation(body: dict) -> dict[str, str]:
    (detail,) = body["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    return {v["field"]: v["description"] for v in detail["fieldViolations"]}


async def test_scalars_nested_and_repeated_fields(api: httpx.AsyncClient):
    params = [
        ("count", "-3"),
        ("big", "9223372036854775807"),
        ("small", "4294967295"),
        ("ratio", "-1.5e3"),
        ("weight", "Infinity"),
        ("flag", "true"),
        ("blob", "_-8"),
        ("inner.note", "hi"),
        ("inner.deeper.level", "2"),
        ("tags", "a"),
        ("tags", "b"),
        ("kinds", "LARGE"),
        ("kinds", "1"),
    ]
    sample = await _echo(api, params)
    assert sample["id"] == "s1"
    assert (sample["count"], sample["big"], sample["small"]) == (
        -3,
        "9223372036854775807",
        2**32 - 1,
    )
    assert (sample["ratio"], sample["weight"], sample["flag"]) == (-1500.0, "Infinity", True)
    assert sample["blob"] == "/+8="  # bytes come back in standard base64
    assert sample["inner"] == {"note": "hi", "level": 0, "deeper": {"level": 2, "note": ""}}
    assert sample["tags"] == ["a", "b"]
    assert sample["kinds"] == ["LARGE", "SMALL"]


async def test_both_spellings_name_one_field(api: httpx.AsyncClient):
    assert (await _echo(api, {"displayName": "Ann"}))["displayName"] == "Ann"
    assert (await _echo(api, {"display_name": "Ann"}))["displayName"] == "Ann"
    body = await _refused(api, [("display_name", "a"), ("displayName", "b")])
    assert _violation(body) == {"display_name": "given more than once"}


async def test_well_known_types_in_their_json_text(api: httpx.AsyncClient):
    params = [
        ("when", "2026-01-02T03:04:05.250+01:00"),
        ("ttl", "-1.5s"),
        ("mask", "displayName,inner.level"),
        ("maybe", "0"),
        ("on", "false"),
        ("label", ""),
        ("attributes", '{"a": [1, "x"], "b": null}'),
        ("extra", '"text"'),
        ("times", "2026-01-01T00:00:00Z"),
        ("times", "2027-01-01T00:00:00Z"),
    ]
    sample = await _echo(api, params)
    assert sample["when"] == "2026-01-02T02:04:05.250Z"
    assert sample["ttl"] == "-1.500s"
    assert sample["mask"] == "displayName,inner.level"
    # Wrappers are present even at their zero value.
    assert (sample["maybe"], sample["on"], sample["label"]) == (0, False, "")
    assert sample["attributes"] == {"a": [1.0, "x"], "b": None}
    assert sample["extra"] == "text"
    assert sample["times"] == ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]
    assert "maybe" not in await _echo(api)


async def test_field_masks_take_snake_case_too(api: httpx.AsyncClient):
    assert (await _echo(api, {"mask": "display_name,createTime"}))["mask"] == (
        "displayName,createTime"
    )


async def test_proto3_optional_presence(api: httpx.AsyncClient):
    unset = await _echo(api)
    assert "limit" not in unset and "nickname" not in unset
    assert unset["count"] == 0  # no presence: printed at zero
    zero = await _echo(api, {"limit": "0", "nickname": ""})
    assert (zero["limit"], zero["nickname"]) == (0, "")


async def test_oneof_members_exclude_each_other(api: httpx.AsyncClient):
    assert (await _echo(api, {"number": "0"}))["number"] == 0
    body = await _refused(api, {"text": "a", "number": "1"})
    assert _violation(body) == {"number": "only one of text, number may be set"}


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("count", "x", "expected an integer from -2147483648 to 2147483647, got 'x'"),
        ("count", "2147483648", "expected an integer from -2147483648 to 2147483647"),
        ("count", "1_0", "expected an integer"),
        ("count", " 1", "expected an integer"),
        ("big", "1.5", "expected an integer"),
        ("small", "-1", "expected an integer from 0 to 4294967295"),
        ("ratio", "1e999", "expected a number"),
        ("ratio", "nan", "expected a number"),
        ("weight", "1e39", "expected a number"),
        ("flag", "yes", "expected true or false"),
        ("kind", "HUGE", "expected one of KIND_UNSPECIFIED, SMALL, LARGE, got 'HUGE'"),
        ("kind", "7", "expected one of KIND_UNSPECIFIED, SMALL, LARGE"),
        ("blob", "!!", "expected base64"),
        ("when", "yesterday", "expected an RFC 3339 time"),
        ("ttl", "5", 'expected seconds with an "s"'),
        ("mask", "a__b", "'a__b' is not a field path"),
        ("maybe", "x", "expected an integer"),
        ("attributes", "[1]", "expected a JSON object"),
        ("extra", "not json", "expected a JSON value"),
        ("inner", "x", "is a message: set its fields one by one"),
        ("scores", "1", "map fields cannot be set from the URL"),
        ("inners.note", "x", "unknown parameter"),
        ("inner.nope", "x", "unknown parameter"),
        ("nope", "x", "unknown parameter"),
        ("count.x", "1", "unknown parameter"),
        ("id", "other", "is set by the path or the body, not the query"),
    ],
)
async def test_a_bad_value_is_a_400_naming_the_parameter(
    api: httpx.AsyncClient, name: str, value: str, problem: str
):
    body = await _refused(api, {name: value})
    assert _violation(body)[name].startswith(problem)
    assert body["message"].startswith(f"{name}: ")


async def test_path_variables(api: httpx.AsyncClient):
    sample = await _echo(api, path="/v1/rooms/r%201/samples/s%2F2")
    assert sample["name"] == "rooms/r 1/samples/s/2"  # each segment decoded once
    assert (await _echo(api, path="/v1/files/a/b%20c/d.txt"))["path"] == "a/b%20c/d.txt"
    assert (await _echo(api, path="/v1/samples/s1/counts/-7"))["count"] == -7


async def test_a_path_variable_of_the_wrong_type_is_a_400(api: httpx.AsyncClient):
    body = await _refused(api, None, path="/v1/samples/s1/counts/seven")
    assert _violation(body) == {
        "count": "expected an integer from -2147483648 to 2147483647, got 'seven'"
    }


@pytest.mark.parametrize("path", ["/v1/samples//counts/1", "/v1/samples/", "/v1/rooms/r/samples"])
async def test_a_missing_path_variable_matches_no_route(api: httpx.AsyncClient, path: str):
    response = await api.get(path)
    assert response.status_code == 404 and response.json()["code"] == 5


async def test_the_query_is_refused_when_the_body_is_the_whole_request(api: httpx.AsyncClient):
    response = await api.post("/v1/samples", params={"count": "1"}, json={})
    assert response.status_code == 400
    assert _violation(response.json()) == {
        "count": "query parameters are not accepted here: send it in the body"
    }


async def test_too_many_or_undecodable_query_parameters(api: httpx.AsyncClient):
    many = [("tags", str(i)) for i in range(MAX_QUERY_PARAMETERS + 1)]
    body = await _refused(api, many)
    assert "more than" in body["message"] and body["details"] == []
    response = await api.get("/v1/samples/s1?tags=%ff")
    assert response.status_code == 400 and "UTF-8" in response.json()["message"]
