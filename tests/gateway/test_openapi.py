from __future__ import annotations

import json
import random
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import grpc
import httpx
import jsonschema_rs
import pytest
import schemathesis
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from grpc_tools import protoc
from schemathesis.specs.openapi import definitions

from joist.v1 import jobs_pb2, notifications_pb2, records_pb2
from services.gateway.errors import status_body
from services.gateway.openapi import build_openapi, proto_comments
from services.gateway.routes import Route, Router, routes_of
from services.gateway.transcode import BadInput, build_request, render_response

SERVICES = (
    (records_pb2, "RecordsService"),
    (notifications_pb2, "NotificationsService"),
    (jobs_pb2, "JobsService"),
)
ROUTES = [
    route
    for module, name in SERVICES
    for route in routes_of(module.DESCRIPTOR.services_by_name[name])
]
DOC = build_openapi(ROUTES, title="Joist API", version="0.1.0")
# The descriptor set `make protos` writes beside the stubs, with the protos' comments.
COMMENTS = proto_comments(resources.files("joist.v1").joinpath("descriptors.binpb").read_bytes())
DESCRIBED = build_openapi(ROUTES, title="Joist API", version="0.1.0", comments=COMMENTS)
ERROR = {"$ref": "#/components/responses/Error"}

# A made-up API for what the Joist protos do not use yet: sub-patterns, additional bindings,
# a field path in the URL, recursion, maps, 64-bit integers, floats, well-known types.
TREE_PROTO = """
syntax = "proto3";
package tree.v1;
import "google/api/annotations.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

service TreeService {
  rpc GetNode(GetNodeRequest) returns (Node) {
    option (google.api.http) = {
      get: "/v1/{name=trees/*/nodes/*}"
      additional_bindings { get: "/v1/{name=forests/*}:peek" }
    };
  }
  rpc UpdateNode(UpdateNodeRequest) returns (Node) {
    option (google.api.http) = { patch: "/v1/{node.name=trees/*/nodes/*}" body: "node" };
  }
  rpc Grow(Node) returns (Node) {
    option (google.api.http) = { post: "/v1/{name=trees/**}:grow" body: "*" };
  }
}

message Node {
  enum Kind { KIND_UNSPECIFIED = 0; ROOT = 1; LEAF = 2; }
  string name = 1;
  Node parent = 2;
  repeated Node children = 3;
  map<string, int64> counts = 4;
  map<int32, Node> by_rank = 5;
  int64 big = 6;
  uint32 small = 7;
  double ratio = 8;
  float weight = 9;
  bytes blob = 10;
  bool leaf = 11;
  google.protobuf.Timestamp when = 12;
  google.protobuf.Duration ttl = 13;
  google.protobuf.Int64Value maybe = 14;
  google.protobuf.Value extra = 15;
  Kind kind = 16;
  repeated sint32 marks = 17;
}

message GetNodeRequest {
  string name = 1;
  repeated string tags = 2;
  google.protobuf.FieldMask read_mask = 3;
  google.protobuf.BoolValue flag = 4;
  Node.Kind kind = 5;
  Node filter = 6;
  uint64 since = 7;
  google.protobuf.Timestamp after = 8;
  google.protobuf.Struct labels = 9;
  bool deep = 10;
}

message UpdateNodeRequest {
  Node node = 1;
  google.protobuf.FieldMask update_mask = 2;
}
"""


def _compile(folder: Path, proto: str) -> tuple[descriptor_pool.DescriptorPool, bytes]:
    """A pool with `proto` (one file's text) and its imports, and their descriptor set with
    source info, as `make protos` writes it."""
    (folder / "api.proto").write_text(proto)
    googleapis = Path(str(resources.files("google.api").joinpath("annotations.proto"))).parents[2]
    well_known = resources.files("grpc_tools").joinpath("_proto")
    out = folder / "api.binpb"
    args = [f"-I{folder}", f"-I{googleapis}", f"-I{well_known}", "--include_imports"]
    args += ["--include_source_info", f"--descriptor_set_out={out}", "api.proto"]
    assert protoc.main(["protoc", *args]) == 0
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        pool.Add(file)
    return pool, out.read_bytes()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Route], dict[str, Any]]:
    pool, _ = _compile(tmp_path_factory.mktemp("tree"), TREE_PROTO)
    routes = routes_of(pool.FindServiceByName("tree.v1.TreeService"))
    return routes, build_openapi(routes, title="Tree", version="1")


def _operations(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    }


def _params(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == where}


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _pointer(doc, schema["$ref"])
    return schema


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_the_document_names_the_api_and_its_bearer_scheme():
    assert DOC["openapi"] == "3.1.0"
    assert DOC["info"] == {"title": "Joist API", "version": "0.1.0"}
    assert [tag["name"] for tag in DOC["tags"]] == [
        "JobsService",
        "NotificationsService",
        "RecordsService",
    ]
    assert DOC["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    assert "security" not in DOC


def test_every_route_is_one_operation_with_its_method_and_id():
    assert {op: (method, path) for op, (method, path, _) in _operations(DOC).items()} == {
        "RecordsService_CreateRecord": ("POST", "/v1/collections/{collection}/records"),
        "RecordsService_GetRecord": ("GET", "/v1/collections/{collection}/records/{id}"),
        "RecordsService_ListRecords": ("GET", "/v1/collections/{collection}/records"),
        "RecordsService_UpdateRecord": ("PATCH", "/v1/collections/{collection}/records/{id}"),
        "RecordsService_DeleteRecord": ("DELETE", "/v1/collections/{collection}/records/{id}"),
        "RecordsService_BatchCreateRecords": (
            "POST",
            "/v1/collections/{collection}/records:batchCreate",
        ),
        "NotificationsService_GetNotification": ("GET", "/v1/notifications/{id}"),
        "NotificationsService_ListNotifications": ("GET", "/v1/notifications"),
        "NotificationsService_RetryNotification": ("POST", "/v1/notifications/{id}:retry"),
        "JobsService_ListJobs": ("GET", "/v1/jobs"),
        "JobsService_GetJob": ("GET", "/v1/jobs/{name}"),
        "JobsService_RunJob": ("POST", "/v1/jobs/{name}:run"),
    }
    assert len(ROUTES) == 12
    for _, _, operation in _operations(DOC).values():
        service, method = operation["operationId"].split("_")
        assert operation["tags"] == [service]
        assert operation["summary"] == method  # DOC is built without the comments


def test_path_parameters_are_the_template_variables_and_required():
    for _, path, operation in _operations(DOC).values():
        declared = _params(operation, "path")
        assert list(declared) == re.findall(r"\{([^}]+)\}", path)
        for parameter in declared.values():
            assert parameter["required"] is True
            assert parameter["schema"] == {"type": "string", "pattern": "^[^/]+$"}


def test_list_records_takes_its_paging_filter_and_order_in_the_query_and_no_body():
    _, _, operation = _operations(DOC)["RecordsService_ListRecords"]
    query = _params(operation, "query")
    assert set(query) == {"pageSize", "pageToken", "filter", "orderBy"}
    assert query["pageSize"]["schema"] == {
        "type": "integer",
        "format": "int32",
        "minimum": 0,  # AIP-158: negative sizes are refused
        "maximum": 2**31 - 1,
    }
    assert query["pageToken"]["schema"] == {"type": "string"}
    assert "requestBody" not in operation


def test_create_record_takes_the_data_object_as_body_and_request_id_in_the_query():
    _, _, operation = _operations(DOC)["RecordsService_CreateRecord"]
    body = operation["requestBody"]
    assert body["required"] is False  # an empty body reads as {}
    assert body["content"]["application/json"]["schema"] == {
        "type": "object",
        "additionalProperties": True,
    }
    assert set(_params(operation, "query")) == {"requestId"}
    assert set(_params(operation, "path")) == {"collection"}


def test_run_job_has_its_name_in_the_path_and_a_body_without_query_parameters():
    method, path, operation = _operations(DOC)["JobsService_RunJob"]
    assert (method, path) == ("POST", "/v1/jobs/{name}:run")
    assert set(_params(operation, "path")) == {"name"}
    assert not _params(operation, "query")  # body "*": the transcoder refuses query values
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"type": "object", "properties": {}, "additionalProperties": False}


def test_responses_are_the_output_message_or_a_status():
    for _, _, operation in _operations(DOC).values():
        responses = operation["responses"]
        assert set(responses) == {"200", "400", "404", "413", "415", "503", "504", "default"}
        assert all(responses[code] == ERROR for code in responses if code != "200")
    _, _, get_job = _operations(DOC)["JobsService_GetJob"]
    job = get_job["responses"]["200"]["content"]["application/json"]["schema"]
    assert job == {"$ref": "#/components/schemas/joist.v1.Job"}
    error = _resolve(DOC, DOC["components"]["responses"]["Error"]["content"]["application/json"])
    status = _resolve(DOC, error["schema"])
    assert status["properties"]["code"]["type"] == "integer"
    assert status["properties"]["message"] == {"type": "string"}
    assert status["properties"]["details"]["items"]["required"] == ["@type"]


def test_message_schemas_are_proto3_json():
    schemas = DOC["components"]["schemas"]
    notification = schemas["joist.v1.Notification"]
    assert notification["additionalProperties"] is False
    assert "required" not in notification
    assert {"eventId", "lastError", "sendTime", "replyTo"} <= set(notification["properties"])
    assert notification["properties"]["state"] == {
        "type": "string",
        "enum": ["STATE_UNSPECIFIED", "QUEUED", "SENT", "FAILED", "DEAD"],
    }
    assert notification["properties"]["sendTime"]["format"] == "date-time"
    job = schemas["joist.v1.Job"]["properties"]
    assert job["runCount"]["type"] == "string"  # int64 in proto3 JSON
    assert re.fullmatch(job["runCount"]["pattern"], "-9223372036854775808")
    assert not re.fullmatch(job["runCount"]["pattern"], "9223372036854775808")
    record = schemas["joist.v1.Record"]["properties"]
    assert record["data"] == {"type": "object", "additionalProperties": True}
    assert schemas["joist.v1.ListRecordsResponse"]["properties"]["records"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/joist.v1.Record"},
    }
    assert "joist.v1.ListRecordsRequest" not in schemas  # never a body


def test_every_ref_resolves_inside_the_document(tree: tuple[list[Route], dict[str, Any]]):
    for doc in (DOC, tree[1]):
        refs = _refs(doc)
        assert refs
        for ref in refs:
            assert isinstance(_pointer(doc, ref), dict), ref


def test_the_json_is_stable_and_independent_of_the_route_order():
    first = json.dumps(build_openapi(ROUTES, "Joist API", "0.1.0"))
    shuffled = list(ROUTES)
    random.Random(7).shuffle(shuffled)
    assert json.dumps(build_openapi(shuffled, "Joist API", "0.1.0")) == first
    assert json.dumps(build_openapi(Router(ROUTES).routes, "Joist API", "0.1.0")) == first
    assert json.dumps(DOC) == first
    assert list(DOC["paths"]) == sorted(DOC["paths"])
    assert list(DOC["components"]["schemas"]) == sorted(DOC["components"]["schemas"])


def test_templates_with_sub_patterns_bindings_and_field_paths(
    tree: tuple[list[Route], dict[str, Any]],
):
    operations = _operations(tree[1])
    method, path, get = operations["TreeService_GetNode"]
    assert (method, path) == ("GET", "/v1/{name}")
    name = _params(get, "path")["name"]
    assert name["schema"] == {"type": "string", "pattern": "^trees/[^/]+/nodes/[^/]+$"}
    assert name["example"] == "trees/x/nodes/x"
    assert operations["TreeService_GetNode_2"][:2] == ("GET", "/v1/{name}:peek")
    # /v1/{node.name} would be the same path as /v1/{name}: variables bind by position.
    method, path, update = operations["TreeService_UpdateNode"]
    assert (method, path) == ("PATCH", "/v1/{name}")
    assert "node.name" in _params(update, "path")["name"]["description"]
    assert set(_params(update, "query")) == {"updateMask"}
    body = update["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/tree.v1.Node"}
    method, path, grow = operations["TreeService_Grow"]
    assert (method, path) == ("POST", "/v1/{name}:grow")
    assert _params(grow, "path")["name"]["schema"]["pattern"] == "^trees/.+$"


def test_query_parameters_are_what_a_query_value_can_set(
    tree: tuple[list[Route], dict[str, Any]],
):
    query = _params(_operations(tree[1])["TreeService_GetNode"][2], "query")
    # flag (BoolValue), filter (a message) and labels (Struct) cannot come from the query.
    assert list(query) == ["tags", "readMask", "kind", "since", "after", "deep"]
    assert query["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert query["since"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
    assert query["after"]["schema"]["format"] == "date-time"
    assert query["kind"]["schema"]["enum"] == ["KIND_UNSPECIFIED", "ROOT", "LEAF"]
    assert query["deep"]["schema"] == {"type": "boolean"}


def test_scalar_and_well_known_types(tree: tuple[list[Route], dict[str, Any]]):
    schemas = tree[1]["components"]["schemas"]
    node = schemas["tree.v1.Node"]["properties"]
    assert node["parent"] == {"$ref": "#/components/schemas/tree.v1.Node"}  # recursion
    assert node["children"]["items"] == {"$ref": "#/components/schemas/tree.v1.Node"}
    assert node["counts"]["type"] == "object"
    assert node["counts"]["additionalProperties"]["type"] == "string"
    assert re.fullmatch(node["byRank"]["propertyNames"]["pattern"], "-2147483648")
    assert not re.fullmatch(node["byRank"]["propertyNames"]["pattern"], "2147483648")
    assert node["small"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**32 - 1,
        "format": "int64",
    }
    assert node["ratio"]["type"] == ["number", "string"]  # "NaN", "Infinity", "-Infinity"
    assert node["blob"]["contentEncoding"] == "base64"
    assert node["leaf"] == {"type": "boolean"}
    assert re.fullmatch(node["ttl"]["pattern"], "-1.5s")
    assert node["maybe"] == node["big"]  # a wrapper is its value
    assert node["extra"] == {}  # any JSON value
    assert node["marks"]["items"]["format"] == "int32"
    grow = _operations(tree[1])["TreeService_Grow"][2]
    body = grow["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "name" not in body  # bound by the path
    assert body["parent"] == {"$ref": "#/components/schemas/tree.v1.Node"}


@pytest.mark.parametrize("doc", [DOC, DESCRIBED], ids=["bare", "described"])
def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]):
    errors = [str(e) for e in definitions.OPENAPI_31_VALIDATOR.iter_errors(doc)]
    assert not errors
    for name, schema in doc["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_rendered_responses_conform_to_their_schemas():
    job = jobs_pb2.Job(name="refresh", run_count=2**63 - 1)
    notification = notifications_pb2.Notification(id="n1", state="DEAD", attempts=3)
    notification.create_time.FromJsonString("2026-01-02T03:04:05.123Z")
    record = records_pb2.Record(id="r1", collection="posts")
    record.data.update({"title": "Hello", "views": 3, "tags": ["a"], "meta": None})
    answers = {
        "JobsService_GetJob": job,
        "JobsService_ListJobs": jobs_pb2.ListJobsResponse(jobs=[job, jobs_pb2.Job()]),
        "NotificationsService_GetNotification": notification,
        "NotificationsService_ListNotifications": notifications_pb2.ListNotificationsResponse(
            notifications=[notification], next_page_token="t"
        ),
        "RecordsService_GetRecord": record,
        "RecordsService_ListRecords": records_pb2.ListRecordsResponse(records=[record]),
    }
    routes = {f"{r.method.containing_service.name}_{r.method.name}": r for r in ROUTES}
    for operation_id, message in answers.items():
        _, _, operation = _operations(DOC)[operation_id]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": DOC["components"]})
        document = json.loads(render_response(routes[operation_id], message))
        assert not [str(e) for e in validator.iter_errors(document)], operation_id
    status = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/Status", "components": DOC["components"]}
    )
    bad = status_body(grpc.StatusCode.INVALID_ARGUMENT, "no", [("pageSize", "bad")])
    assert status.is_valid(json.loads(bad))


def _accepted(doc: dict[str, Any], routes: list[Route], examples: int) -> list[str]:
    """Requests generated from the document, sent through the router and the transcoder the
    way the app does; returns the ones they refuse."""
    from hypothesis import HealthCheck, Phase, given, settings

    router, refused = Router(routes), []
    for result in schemathesis.openapi.from_dict(doc).get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://gateway")
            request = httpx.Request(
                kwargs["method"],
                kwargs["url"],
                params=kwargs.get("params"),
                json=kwargs.get("json"),
            )
            path = unquote(request.url.raw_path.split(b"?")[0].decode("ascii"))  # as uvicorn
            found = router.match(request.method, path)
            if found is None:
                refused.append(f"{request.method} {path}: no route")
                return
            route, values = found
            query = parse_qsl(request.url.query.decode("latin-1"), keep_blank_values=True)
            message_class = message_factory.GetMessageClass(route.method.input_type)
            try:
                build_request(route, message_class, values, query, request.content)
            except BadInput as bad:
                refused.append(f"{request.method} {path}: {bad}")

        check()
    return refused


def test_requests_generated_from_the_document_are_accepted():
    assert _accepted(DOC, ROUTES, examples=40) == []


def test_requests_generated_for_the_made_up_api_are_accepted(
    tree: tuple[list[Route], dict[str, Any]],
):
    refused = _accepted(tree[1], tree[0], examples=60)
    # Known: protobuf prints float32's largest value as 3.4028235e+38 but parses only up to
    # 3.4028234663852886e+38; the schema allows what responses carry.
    assert [r for r in refused if "Float value too" not in r] == []


def test_responses_of_the_made_up_api_conform(tree: tuple[list[Route], dict[str, Any]]):
    routes, doc = tree
    node_class = message_factory.GetMessageClass(routes[0].method.output_type)
    node = node_class(big=-(2**63), small=2**32 - 1, ratio=float("nan"), blob=bytes(range(256)))
    node.weight = 3.4028234663852886e38  # printed as 3.4028235e+38
    node.counts["x"] = 2**63 - 1
    node.by_rank[-(2**31)].ratio = float("-inf")
    node.when.FromJsonString("9999-12-31T23:59:59.999999999Z")
    node.ttl.FromJsonString("-315576000000.999999999s")
    node.maybe.value = 0
    node.extra.list_value.values.add().null_value = 0
    node.kind = node_class.Kind.LEAF
    node.marks.extend([-(2**31), 2**31 - 1])
    node.children.add().parent.name = "deep"
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/tree.v1.Node", "components": doc["components"]}
    )
    for message in (node, node_class()):
        document = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
        assert not [str(e) for e in validator.iter_errors(json.loads(json.dumps(document)))]


def test_two_routes_on_one_openapi_path_and_method_are_refused(
    tree: tuple[list[Route], dict[str, Any]],
):
    get = next(r for r in tree[0] if r.template == "/v1/{name=trees/*/nodes/*}")
    twin = Route(
        "GET",
        "/v1/{name=users/*}",
        re.compile("/v1/(users/[^/]+)"),
        ("name",),
        frozenset(),
        "",
        "",
        get.method,
        1,
    )
    with pytest.raises(ValueError, match=re.escape("OpenAPI has one /v1/{name}")):
        build_openapi([get, twin], "Tree", "1")


# Comments in the places protoc keeps them: leading, trailing, detached, nested.
DESCRIBED_PROTO = """
syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";

// Sells things.
//
// Every price is in cents.
service ShopService {
  // Buys one item.
  //
  // The item must be in stock; see `Item.stock`.
  //   An indented line stays indented.
  rpc Buy(BuyRequest) returns (Item) {
    option (google.api.http) = { post: "/v1/{item.name=items/*}:buy" body: "*" };
  }
  rpc Peek(PeekRequest) returns (Item) {  // not a leading comment: no summary from it
    option (google.api.http) = { get: "/v1/items/{name}" };
  }
}

// A thing for sale.
message Item {
  // How much of the item is left.
  enum Stock {
    STOCK_UNSPECIFIED = 0;
    // None left.
    OUT = 1;
    IN = 2;  // Some left.
  }
  // Its resource name,
  // `items/<id>`.
  string name = 1;
  Stock stock = 2;
  int64 price = 3;  // In cents.
  // Where it came from.
  Origin origin = 4;
  repeated Origin history = 5;
  google.protobuf.Timestamp added = 6;

  // The item's origin.
  message Origin {
    // ISO 3166 country code.
    string country = 1;
  }
}

// Detached: not the comment of BuyRequest.

message BuyRequest {
  Item item = 1;
  // How many to buy.
  int32 count = 2;
}

message PeekRequest {
  // The item's name.
  string name = 1;
  // Only this stock level.
  Item.Stock stock = 2;
}
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    pool, descriptor_set = _compile(tmp_path_factory.mktemp("shop"), DESCRIBED_PROTO)
    comments = proto_comments(descriptor_set)
    routes = routes_of(pool.FindServiceByName("shop.v1.ShopService"))
    return comments, build_openapi(routes, title="Shop", version="1", comments=comments)


def test_proto_comments_are_found_by_full_name(shop: tuple[dict[str, str], dict[str, Any]]):
    comments, _ = shop
    assert {name: text for name, text in comments.items() if name.startswith("shop.")} == {
        "shop.v1.ShopService": "Sells things.\n\nEvery price is in cents.",
        "shop.v1.ShopService.Buy": "Buys one item.\n\nThe item must be in stock; see "
        "`Item.stock`.\n  An indented line stays indented.",
        "shop.v1.ShopService.Peek": "not a leading comment: no summary from it",
        "shop.v1.Item": "A thing for sale.",
        "shop.v1.Item.Stock": "How much of the item is left.",
        "shop.v1.Item.Stock.OUT": "None left.",
        "shop.v1.Item.Stock.IN": "Some left.",
        "shop.v1.Item.name": "Its resource name,\n`items/<id>`.",
        "shop.v1.Item.price": "In cents.",
        "shop.v1.Item.origin": "Where it came from.",
        "shop.v1.Item.Origin": "The item's origin.",
        "shop.v1.Item.Origin.country": "ISO 3166 country code.",
        "shop.v1.BuyRequest.count": "How many to buy.",
        "shop.v1.PeekRequest.name": "The item's name.",
        "shop.v1.PeekRequest.stock": "Only this stock level.",
    }


def test_comments_describe_tags_operations_and_parameters(
    shop: tuple[dict[str, str], dict[str, Any]],
):
    _, doc = shop
    assert doc["tags"] == [
        {"name": "ShopService", "description": "Sells things.\n\nEvery price is in cents."}
    ]
    operations = _operations(doc)
    buy = operations["ShopService_Buy"][2]
    assert buy["summary"] == "Buys one item."  # the first paragraph; the rest describes it
    assert buy["description"] == (
        "The item must be in stock; see `Item.stock`.\n  An indented line stays indented."
    )
    name = _params(buy, "path")["item.name"]
    assert name["description"] == "Its resource name,\n`items/<id>`."  # the field's, nested
    assert "description" not in buy["requestBody"]  # body "*": the schema has it
    body = buy["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["count"]["description"] == "How many to buy."
    peek = operations["ShopService_Peek"][2]
    assert peek["summary"] == "not a leading comment: no summary from it"
    assert "description" not in peek
    stock = _params(peek, "query")["stock"]
    assert stock["description"] == (
        "Only this stock level.\n\nHow much of the item is left.\n\n"
        "- `STOCK_UNSPECIFIED`\n- `OUT`: None left.\n- `IN`: Some left."
    )
    assert stock["schema"]["enum"] == ["STOCK_UNSPECIFIED", "OUT", "IN"]


def test_comments_describe_schemas_and_properties(shop: tuple[dict[str, str], dict[str, Any]]):
    _, doc = shop
    schemas = doc["components"]["schemas"]
    item = schemas["shop.v1.Item"]
    assert item["description"] == "A thing for sale."
    properties = item["properties"]
    assert properties["price"] == {
        "type": "string",
        "pattern": properties["price"]["pattern"],
        "description": "In cents.",
    }
    # A reference with a description beside it (JSON Schema 2020-12, so OpenAPI 3.1).
    assert properties["origin"] == {
        "$ref": "#/components/schemas/shop.v1.Item.Origin",
        "description": "Where it came from.",
    }
    assert properties["history"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/shop.v1.Item.Origin"},
    }
    assert "description" not in properties["added"]
    assert properties["stock"]["description"].startswith("How much of the item is left.")
    origin = schemas["shop.v1.Item.Origin"]
    assert origin["description"] == "The item's origin."
    assert origin["properties"]["country"]["description"] == "ISO 3166 country code."


def test_the_joist_document_carries_the_protos_comments():
    assert COMMENTS["joist.v1.RecordsService.CreateRecord"].startswith("Creates a record.")
    described = {tag["name"]: tag["description"] for tag in DESCRIBED["tags"]}
    assert described["RecordsService"] == COMMENTS["joist.v1.RecordsService"]
    operations = _operations(DESCRIBED)
    create = operations["RecordsService_CreateRecord"][2]
    assert create["summary"].startswith("Creates a record.")
    assert create["requestBody"]["description"] == COMMENTS["joist.v1.CreateRecordRequest.data"]
    assert _params(create, "query")["requestId"]["description"].startswith("Client-chosen id")
    notification = DESCRIBED["components"]["schemas"]["joist.v1.Notification"]
    assert "- `DEAD`: Gave up" in notification["properties"]["state"]["description"]
    record = DESCRIBED["components"]["schemas"]["joist.v1.Record"]
    assert record["description"] == COMMENTS["joist.v1.Record"]
    assert record["properties"]["id"]["description"] == COMMENTS["joist.v1.Record.id"]
    # Only descriptions and summaries differ from the bare document.
    assert _without_descriptions(DESCRIBED) == _without_descriptions(DOC)


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _without_descriptions(value)
            for key, value in node.items()
            if key not in ("description", "summary") or not isinstance(value, str)
        }
    if isinstance(node, list):
        return [_without_descriptions(value) for value in node]
    return node
