"""Health of every service, the scheduler's heartbeat on the stream, the jobs API, and who may
call the admin-only APIs."""

from __future__ import annotations

import asyncio
import json

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.auth import SERVICE, USER
from tests.support.jetstream import stream_messages
from tests.support.stack import Stack

SERVICE_NAMES = {
    "records": "joist.v1.RecordsService",
    "notifier": "joist.v1.NotificationsService",
    "scheduler": "joist.v1.JobsService",
    "gateway": "",
}


def test_every_service_is_serving(stack: Stack, api: httpx.Client):
    for service, name in SERVICE_NAMES.items():
        with grpc.insecure_channel(stack.grpc_target(service)) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=name), timeout=2
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
    assert api.get("/healthz").status_code == 200
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "upstreams": {
            "joist.v1.AuthService": "SERVING",
            "joist.v1.CollectionsService": "SERVING",
            "joist.v1.JobsService": "SERVING",
            "joist.v1.NotificationsService": "SERVING",
            "joist.v1.RecordsService": "SERVING",
        },
    }


def test_an_upstream_outage_is_reported_and_answered_per_request(
    stack: Stack, api: httpx.Client, admin_api: httpx.Client
):
    assert stack.stop_service("notifier") == 0  # SIGTERM: a clean, graceful exit
    ready = api.get("/readyz")
    assert ready.status_code == 200  # the gateway still serves the other services
    assert ready.json()["status"] == "degraded"
    assert ready.json()["upstreams"]["joist.v1.NotificationsService"] == "UNAVAILABLE"
    assert ready.json()["upstreams"]["joist.v1.RecordsService"] == "SERVING"
    assert admin_api.get("/v1/jobs").status_code == 200
    response = admin_api.get("/v1/notifications")
    assert response.status_code == 503 and response.json()["code"] == 14


def test_heartbeat_is_published_once_per_slot(stack: Stack):
    messages = asyncio.run(
        stream_messages(stack.nats.url, "joist.events.schedule.heartbeat", 2, wait=5)
    )
    messages = messages[:2]
    assert len(messages) == 2
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert all(i.startswith("heartbeat:") for i in ids) and len(set(ids)) == 2
    event = json.loads(messages[0].data)
    assert event["type"] == "joist.schedule.heartbeat"
    assert event["data"]["job"] == "heartbeat" and event["id"] == ids[0]


def test_jobs_api(admin_api: httpx.Client):
    jobs = admin_api.get("/v1/jobs").json()["jobs"]
    assert [j["name"] for j in jobs] == ["heartbeat"]
    assert jobs[0]["schedule"] == "every 1 seconds"
    assert jobs[0]["subject"] == "joist.events.schedule.heartbeat"
    assert admin_api.get("/v1/jobs/heartbeat").json()["name"] == "heartbeat"
    ran = admin_api.post("/v1/jobs/heartbeat:run", json={})
    assert ran.status_code == 200 and ran.json()["name"] == "heartbeat"
    missing = admin_api.get("/v1/jobs/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert admin_api.post("/v1/jobs/nope:run", json={}).status_code == 404


@pytest.mark.parametrize("body", [b'{"name": "other"}', b'{"bogus": 1}'])
def test_run_job_body_cannot_rename_or_carry_unknown_fields(admin_api: httpx.Client, body: bytes):
    response = admin_api.post(
        "/v1/jobs/heartbeat:run", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text


def test_admin_apis_need_an_admin_or_a_service_token(stack: Stack, api: httpx.Client):
    for path in ("/v1/jobs", "/v1/jobs/heartbeat", "/v1/notifications"):
        anonymous = api.get(path)
        assert anonymous.status_code == 401 and anonymous.json()["code"] == 16, path
        assert anonymous.headers["www-authenticate"] == "Bearer"
        user = api.get(path, headers=stack.bearer("user-1", [USER]))
        assert user.status_code == 403 and user.json()["code"] == 7, path
        forged = "Bearer " + stack.token()[:-4] + "AAAA"
        assert api.get(path, headers={"authorization": forged}).status_code == 401, path
        service = stack.bearer("service:reports", [SERVICE])
        assert api.get(path, headers=service).status_code == 200, path
        assert api.get(path, headers=stack.bearer()).status_code == 200, path
