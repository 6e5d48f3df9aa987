from __future__ import annotations

import pytest

from joist.v1 import jobs_pb2, records_pb2
from services.gateway.routes import Router, TemplateError, compile_template, routes_of


@pytest.mark.parametrize(
    ("template", "path", "values"),
    [
        ("/v1/collections/{collection}/records", "/v1/collections/posts/records", ["posts"]),
        ("/v1/jobs/{name}:run", "/v1/jobs/heartbeat:run", ["heartbeat"]),
        ("/v1/{name=projects/*/items/*}", "/v1/projects/p1/items/i2", ["projects/p1/items/i2"]),
        ("/v1/files/{path=**}", "/v1/files/a/b/c.txt", ["a/b/c.txt"]),
        ("/v1/*/things", "/v1/any/things", []),
    ],
)
def test_templates_match(template: str, path: str, values: list[str]):
    pattern, variables, _, _ = compile_template(template)
    found = pattern.fullmatch(path)
    assert found is not None and list(found.groups()) == values
    assert len(variables) == len(values)


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("/v1/collections/{collection}/records", "/v1/collections/a/b/records"),
        ("/v1/jobs/{name}:run", "/v1/jobs/heartbeat"),
        ("/v1/{name=projects/*}", "/v1/projects/a/b"),
    ],
)
def test_templates_do_not_overmatch(template: str, path: str):
    assert compile_template(template)[0].fullmatch(path) is None


@pytest.mark.parametrize("bad", ["v1/no-slash", "/v1/{a/{b}}", "/v1/{open"])
def test_bad_templates(bad: str):
    with pytest.raises(TemplateError):
        compile_template(bad)


def _router() -> Router:
    services = [
        records_pb2.DESCRIPTOR.services_by_name["RecordsService"],
        jobs_pb2.DESCRIPTOR.services_by_name["JobsService"],
    ]
    return Router(route for s in services for route in routes_of(s))


def test_router_is_built_from_the_annotations():
    router = _router()
    assert {(r.http_method, r.template) for r in router.routes} == {
        ("POST", "/v1/collections/{collection}/records"),
        ("GET", "/v1/collections/{collection}/records"),
        ("GET", "/v1/collections/{collection}/records/{id}"),
        ("GET", "/v1/jobs"),
        ("GET", "/v1/jobs/{name}"),
        ("POST", "/v1/jobs/{name}:run"),
    }


def test_router_matching_and_methods():
    router = _router()
    route, values = router.match("GET", "/v1/collections/posts/records/r%2F1")
    assert route.method.name == "GetRecord" and values == {"collection": "posts", "id": "r/1"}
    route, values = router.match("POST", "/v1/jobs/heartbeat:run")
    assert route.method.name == "RunJob" and values == {"name": "heartbeat"}
    assert router.match("GET", "/v1/jobs")[0].method.name == "ListJobs"
    assert router.match("DELETE", "/v1/jobs") is None
    assert router.allowed_methods("/v1/collections/posts/records") == ["GET", "POST"]
    assert router.allowed_methods("/nowhere") == []
