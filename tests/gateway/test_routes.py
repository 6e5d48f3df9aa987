from __future__ import annotations

from types import SimpleNamespace

import pytest
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor

from joist.v1 import jobs_pb2
from services.gateway.routes import Router, TemplateError, compile_template, routes_of

FIELD = descriptor_pb2.FieldDescriptorProto


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


def _router(echo: SimpleNamespace) -> Router:
    services = [
        echo.pb2.DESCRIPTOR.services_by_name["EchoService"],
        jobs_pb2.DESCRIPTOR.services_by_name["JobsService"],
    ]
    return Router(route for s in services for route in routes_of(s))


def test_router_is_built_from_the_annotations(echo: SimpleNamespace):
    routes = {(r.http_method, r.template, r.body, r.response_body) for r in _router(echo).routes}
    assert {
        ("POST", "/v1/samples", "*", ""),
        ("GET", "/v1/{name=rooms/*/samples/*}", "", ""),  # additional bindings
        ("POST", "/v1/samples/{id}:shout", "inner", ""),
        ("GET", "/v1/samples/{id}/tags", "", "tags"),
        ("SEARCH", "/v1/samples", "", ""),  # a custom method
        ("PATCH", "/v1/{sample.name=rooms/*/samples/*}", "sample", ""),
        ("GET", "/v1/samples:watch", "", ""),  # server streaming
        ("GET", "/v1/jobs", "", ""),
        ("POST", "/v1/jobs/{name}:run", "*", ""),
    } <= routes
    assert len(routes) == 18


def test_router_matching_and_methods(echo: SimpleNamespace):
    router = _router(echo)
    route, values = router.match("GET", "/v1/samples/s%2F1/counts/3")
    assert route.method.name == "Echo" and values == {"id": "s/1", "count": "3"}
    route, values = router.match("PATCH", "/v1/rooms/r1/samples/s2")
    assert route.method.name == "UpdateSample" and values == {"sample.name": "rooms/r1/samples/s2"}
    route, values = router.match("POST", "/v1/jobs/heartbeat:run")
    assert route.method.name == "RunJob" and values == {"name": "heartbeat"}
    assert router.match("GET", "/v1/jobs")[0].method.name == "ListJobs"
    assert router.match("DELETE", "/v1/jobs") is None
    assert router.allowed_methods("/v1/samples") == ["POST", "SEARCH"]
    assert router.allowed_methods("/nowhere") == []


def _service(rule: http_pb2.HttpRule, client_streaming: bool = False) -> ServiceDescriptor:
    """A one-method service annotated with `rule`, in a pool of its own."""
    file = descriptor_pb2.FileDescriptorProto(name="bad.proto", package="bad", syntax="proto3")
    file.message_type.add(name="Request").field.add(
        name="tags", number=1, type=FIELD.TYPE_STRING, label=FIELD.LABEL_REPEATED
    )
    file.message_type.add(name="Reply")
    method = file.service.add(name="Bad").method.add(
        name="Call", input_type=".bad.Request", output_type=".bad.Reply"
    )
    method.client_streaming = client_streaming
    method.options.Extensions[annotations_pb2.http].CopyFrom(rule)
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, http_pb2, annotations_pb2):
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    file.dependency.append(annotations_pb2.DESCRIPTOR.name)
    pool.Add(file)
    return pool.FindServiceByName("bad.Bad")


@pytest.mark.parametrize(
    ("rule", "client_streaming", "problem"),
    [
        (http_pb2.HttpRule(get="/v1/{nope}"), False, "nope is not a singular field"),
        (http_pb2.HttpRule(get="/v1/{tags}"), False, "tags is not a singular field"),
        (http_pb2.HttpRule(post="/v1/x", body="nope"), False, "body 'nope' is not a field"),
        (http_pb2.HttpRule(get="/v1/x", response_body="nope"), False, "response_body 'nope'"),
        (http_pb2.HttpRule(post="/v1/x", body="*"), True, "client-streaming"),
    ],
)
def test_annotations_no_request_could_satisfy_are_refused_at_start(
    rule: http_pb2.HttpRule, client_streaming: bool, problem: str
):
    with pytest.raises(TemplateError, match=problem):
        routes_of(_service(rule, client_streaming))
