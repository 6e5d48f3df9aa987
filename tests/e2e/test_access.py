"""Who gets in where, through the real gateway and services: every REST route and every gRPC
method for each caller (anonymous, user A, user B, admin, service), token attacks, mass assignment,
login limits, and the anonymous Contact Us flow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import empty_pb2, message_factory

from joist.v1 import (
    auth_pb2,
    auth_pb2_grpc,
    collections_pb2,
    jobs_pb2,
    notifications_pb2,
    records_pb2,
)
from tests.support.stack import SERVICES, Stack

PASSWORD = "a long enough password"
NOTES = {
    "name": "notes",
    "fields": [{"name": "text", "type": "TEXT"}],
    "rules": {
        "list": "OWNER",
        "get": "OWNER",
        "create": "AUTHENTICATED",
        "update": "OWNER",
        "delete": "OWNER",
    },
}
CONTACT = {"name": "Ann", "email": "ann@example.com", "message": "Hello"}


@dataclass
class World:
    stack: Stack
    headers: dict[str, dict[str, str]]  # caller name -> Authorization header (or none)
    ids: dict[str, str]  # caller name -> user id
    a_note: str
    b_note: str

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.base_url, timeout=10, headers=self.headers[who])


def _login(api: httpx.Client, email: str, password: str = PASSWORD) -> dict:
    response = api.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(module_stack: Stack) -> Iterator[World]:
    stack = module_stack
    with httpx.Client(base_url=stack.base_url, timeout=10) as api:
        ids = {}
        for who in ("a", "b"):
            user = api.post(
                "/v1/auth/signup", json={"email": f"{who}@example.com", "password": PASSWORD}
            )
            assert user.status_code == 200, user.text
            ids[who] = user.json()["id"]
        headers = {
            "anonymous": {},
            "a": {"authorization": f"Bearer {_login(api, 'a@example.com')['accessToken']}"},
            "b": {"authorization": f"Bearer {_login(api, 'b@example.com')['accessToken']}"},
            "admin": stack.bearer(),
            "service": stack.bearer("service:e2e", ("service",)),
        }
        created = api.post("/v1/collections", json=NOTES, headers=headers["admin"])
        assert created.status_code == 200, created.text
        notes = {}
        for who in ("a", "b"):
            note = api.post(
                "/v1/collections/notes/records", json={"text": who}, headers=headers[who]
            )
            assert note.status_code == 200, note.text
            assert note.json()["owner"] == ids[who]
            notes[who] = note.json()["id"]
    yield World(stack, headers, ids, notes["a"], notes["b"])


CALLERS = ("anonymous", "a", "b", "admin", "service")

# route -> expected HTTP status per caller, in CALLERS order
ADMIN_ONLY = (401, 403, 403, 200, 403)
ADMIN_OR_SERVICE = (401, 403, 403, 200, 200)
ROUTES = [
    ("GET", "/v1/collections", None, ADMIN_ONLY),
    ("GET", "/v1/collections/notes", None, ADMIN_ONLY),
    ("POST", "/v1/collections", {"name": "x"}, (401, 403, 403, 200, 403)),
    ("PATCH", "/v1/collections/notes?update_mask=rules", {"rules": NOTES["rules"]}, ADMIN_ONLY),
    ("DELETE", "/v1/collections/nothing", None, (401, 403, 403, 404, 403)),
    ("GET", "/v1/collections/notes/records/{a_note}", None, (401, 200, 404, 200, 200)),
    ("PATCH", "/v1/collections/notes/records/{a_note}", {"text": "a2"}, (401, 200, 404, 200, 200)),
    (
        "DELETE",
        "/v1/collections/notes/records/{b_note}?etag=stale",
        None,
        (401, 404, 409, 409, 409),
    ),
    ("POST", "/v1/collections/notes/records", {"text": "new"}, (401, 200, 200, 200, 200)),
    (
        "POST",
        "/v1/collections/notes/records:batchCreate",
        {"requests": [{"data": {"text": "n"}}]},
        (401, 200, 200, 200, 200),
    ),
    ("POST", "/v1/collections/contact_messages/records", CONTACT, (200, 200, 200, 200, 200)),
    ("GET", "/v1/collections/contact_messages/records", None, ADMIN_OR_SERVICE),
    ("GET", "/v1/notifications", None, ADMIN_OR_SERVICE),
    ("GET", "/v1/notifications/missing", None, (401, 403, 403, 404, 404)),
    ("POST", "/v1/notifications/missing:retry", {}, (401, 403, 403, 404, 404)),
    ("GET", "/v1/jobs", None, ADMIN_OR_SERVICE),
    ("GET", "/v1/jobs/heartbeat", None, ADMIN_OR_SERVICE),
    ("POST", "/v1/jobs/heartbeat:run", {}, ADMIN_OR_SERVICE),
    ("GET", "/v1/auth/me", None, (401, 200, 200, 200, 404)),
    ("POST", "/v1/auth/refresh", {"refreshToken": "x.y"}, (401, 401, 401, 401, 401)),
    (
        "POST",
        "/v1/auth/login",
        {"email": "a@example.com", "password": "wrong password"},
        (401,) * 5,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ROUTES, ids=[f"{m} {p}" for m, p, *_ in ROUTES]
)
def test_every_route_for_every_caller(world: World, method: str, path: str, body, expected):
    url = path.format(a_note=world.a_note, b_note=world.b_note)
    for who, status in zip(CALLERS, expected, strict=True):
        with world.client(who) as api:
            response = api.request(method, url, json=body)
        assert response.status_code == status, f"{who}: {method} {url} → {response.text}"
        if status >= 400:
            assert set(response.json()) >= {"code", "message"}


def test_lists_show_owners_only_their_records(world: World):
    def texts(who: str) -> set[str]:
        with world.client(who) as api:
            response = api.get("/v1/collections/notes/records", params={"page_size": 1000})
        assert response.status_code == 200, response.text
        return {r["owner"] for r in response.json()["records"]}

    assert texts("a") == {world.ids["a"]}
    assert texts("b") == {world.ids["b"]}
    assert texts("admin") >= {world.ids["a"], world.ids["b"]}
    with world.client("b") as api:
        sneaky = api.get(
            "/v1/collections/notes/records", params={"filter": f'owner = "{world.ids["a"]}"'}
        )
    assert sneaky.json().get("records", []) == []


@pytest.mark.parametrize("extra", ["owner", "id", "roles", "create_time", "createTime"])
def test_mass_assignment_is_refused(world: World, extra: str):
    with world.client("a") as api:
        response = api.post(
            "/v1/collections/notes/records", json={"text": "x", extra: world.ids["b"]}
        )
    assert response.status_code == 400, response.text
    assert extra in response.text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _hs256(claims: dict, secret: bytes) -> str:
    """The classic confusion attack: HMAC with the public key as the secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def _other_key(claims: dict) -> str:
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")


def test_token_attacks_all_get_401(world: World):
    good = world.headers["admin"]["authorization"].split()[1]
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    public = (world.stack.workdir / "keys" / "public.pem").read_bytes()
    now = int(time.time())

    def b64(data: dict) -> str:
        return _b64(json.dumps(data).encode())

    attacks = {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "HS256 with the public key": _hs256(claims, public),
        "signed with another key": _other_key(claims),
        "tampered roles": f"{header}.{b64({**claims, 'roles': ['admin', 'x']})}.{signature}",
        "expired": world.stack.token_with({"exp": now - 60, "iat": now - 120, "nbf": now - 120}),
        "not yet valid": world.stack.token_with({"nbf": now + 3600, "iat": now + 3600}),
        "wrong audience": world.stack.token_with({"aud": "someone-else"}),
        "wrong issuer": world.stack.token_with({"iss": "someone-else"}),
        "garbage": "not.a.token",
    }
    for name, token in attacks.items():
        with httpx.Client(base_url=world.stack.base_url, timeout=10) as api:
            response = api.get("/v1/jobs", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, f"{name}: {response.text}"


def test_tokens_of_deleted_or_disabled_users_get_401(world: World):
    with httpx.Client(base_url=world.stack.base_url, timeout=10) as api:
        api.post("/v1/auth/signup", json={"email": "gone@example.com", "password": PASSWORD})
        session = _login(api, "gone@example.com")
        bearer = {"authorization": f"Bearer {session['accessToken']}"}
        assert api.get("/v1/auth/me", headers=bearer).status_code == 200
        world.stack.records_sql(
            "UPDATE joist_users SET disabled = 1 WHERE email = 'gone@example.com'"
        )
        time.sleep(2.5)  # records remembers an active user for 2 s
        assert api.get("/v1/auth/me", headers=bearer).status_code == 401
        assert (
            api.post("/v1/auth/refresh", json={"refreshToken": session["refreshToken"]}).status_code
            == 401
        )
        world.stack.records_sql("DELETE FROM joist_users WHERE email = 'gone@example.com'")
        assert api.get("/v1/collections/notes/records", headers=bearer).status_code == 401


def test_refresh_rotates_and_reuse_revokes_the_family(world: World):
    with httpx.Client(base_url=world.stack.base_url, timeout=10) as api:
        first = _login(api, "a@example.com")
        second = api.post("/v1/auth/refresh", json={"refreshToken": first["refreshToken"]}).json()
        assert second["refreshToken"] != first["refreshToken"]
        reuse = api.post("/v1/auth/refresh", json={"refreshToken": first["refreshToken"]})
        assert reuse.status_code == 401
        after = api.post("/v1/auth/refresh", json={"refreshToken": second["refreshToken"]})
        assert after.status_code == 401


def test_login_attempts_are_limited(world: World):
    with httpx.Client(base_url=world.stack.base_url, timeout=10) as api:
        api.post("/v1/auth/signup", json={"email": "limited@example.com", "password": PASSWORD})
        statuses = [
            api.post(
                "/v1/auth/login", json={"email": "limited@example.com", "password": "nope nope"}
            ).status_code
            for _ in range(15)
        ]
    assert statuses[0] == 401 and statuses[-1] == 429, statuses


GRPC_SERVICES = [
    ("records", records_pb2, "RecordsService", "RULES"),
    ("records", collections_pb2, "CollectionsService", "ADMIN"),
    ("notifier", notifications_pb2, "NotificationsService", "ADMIN_OR_SERVICE"),
    ("scheduler", jobs_pb2, "JobsService", "ADMIN_OR_SERVICE"),
]


@pytest.mark.parametrize(
    ("service", "module", "name", "policy"), GRPC_SERVICES, ids=[g[2] for g in GRPC_SERVICES]
)
def test_every_grpc_method_for_every_caller(world: World, service, module, name, policy):
    """Direct gRPC, past the gateway: the same doors are shut."""
    descriptor = module.DESCRIPTOR.services_by_name[name]
    with grpc.insecure_channel(world.stack.grpc_target(service)) as channel:
        for method in descriptor.methods:
            request_class = message_factory.GetMessageClass(method.input_type)
            request = request_class()
            if policy == "RULES":
                request.collection = "notes"
            call = channel.unary_unary(
                f"/{descriptor.full_name}/{method.name}",
                request_serializer=request_class.SerializeToString,
                response_deserializer=empty_pb2.Empty.FromString,
            )
            for who in CALLERS:
                metadata = tuple(world.headers[who].items())
                code = _code(call, request, metadata)
                allowed = {
                    "ADMIN": {"admin"},
                    "ADMIN_OR_SERVICE": {"admin", "service"},
                    "RULES": {"a", "b", "admin", "service"},
                }[policy]
                if who in allowed:
                    assert code not in (
                        grpc.StatusCode.UNAUTHENTICATED,
                        grpc.StatusCode.PERMISSION_DENIED,
                    ), (who, method.name, code)
                elif who == "anonymous":
                    assert code is grpc.StatusCode.UNAUTHENTICATED, (who, method.name, code)
                else:
                    assert code is grpc.StatusCode.PERMISSION_DENIED, (who, method.name, code)


def test_user_b_never_touches_user_a_records_over_grpc(world: World):
    with grpc.insecure_channel(world.stack.grpc_target("records")) as channel:
        metadata = tuple(world.headers["b"].items())
        calls = {
            "GetRecord": records_pb2.GetRecordRequest(collection="notes", id=world.a_note),
            "UpdateRecord": records_pb2.UpdateRecordRequest(
                collection="notes", id=world.a_note, data={"text": "hacked"}
            ),
            "DeleteRecord": records_pb2.DeleteRecordRequest(collection="notes", id=world.a_note),
        }
        for method, request in calls.items():
            call = channel.unary_unary(
                f"/joist.v1.RecordsService/{method}",
                request_serializer=type(request).SerializeToString,
                response_deserializer=empty_pb2.Empty.FromString,
            )
            assert _code(call, request, metadata) is grpc.StatusCode.NOT_FOUND, method
    with world.client("a") as api:
        assert api.get(f"/v1/collections/notes/records/{world.a_note}").status_code == 200


def _code(call, request, metadata) -> grpc.StatusCode:
    try:
        call(request, metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_login_limits_count_each_client_address(world: World):
    """The gateway forwards the client's address, so one address's guessing does not lock out
    the others (the test client is a trusted proxy, as an Ingress would be)."""
    with httpx.Client(base_url=world.stack.base_url, timeout=10) as api:

        def attempt(address: str, n: int) -> int:
            body = {"email": f"nobody{n}@example.com", "password": "guess guess"}
            headers = {"x-forwarded-for": address}
            return api.post("/v1/auth/login", json=body, headers=headers).status_code

        guesses = [attempt("203.0.113.7", n) for n in range(12)]
        assert guesses[0] == 401 and guesses[-1] == 429, guesses
        assert attempt("198.51.100.9", 99) == 401


def test_passwords_never_reach_logs_or_stored_data(tmp_path: Path):
    """With every service logging at INFO: sign up, log in right and wrong, change the
    password; neither password appears in any log, in the records database or the outbox."""
    secret, other = "Secret-Password-4321", "Other-Password-8765"
    stack = Stack(tmp_path, {"JOIST_LOG_LEVEL": "INFO"})
    try:
        stack.start()
        with httpx.Client(base_url=stack.base_url, timeout=10) as api:
            api.post("/v1/auth/signup", json={"email": "c@example.com", "password": secret})
            api.post("/v1/auth/login", json={"email": "c@example.com", "password": other})
            session = _login(api, "c@example.com", secret)
            bearer = {"authorization": f"Bearer {session['accessToken']}"}
            body = {"currentPassword": secret, "newPassword": other}
            assert api.post("/v1/auth/password", json=body, headers=bearer).status_code == 200
    finally:
        stack.stop()
    stored = [stack.log(name) for name in SERVICES]
    stored += [path.read_bytes().decode("latin-1") for path in tmp_path.glob("*.db*")]
    assert "c@example.com" in "".join(stored)  # the checks below look at real content
    for text in stored:
        assert secret not in text and other not in text


def test_sign_up_can_be_turned_off_and_logout_ends_a_session(tmp_path: Path):
    stack = Stack(tmp_path, {"JOIST_AUTH_SIGNUP_ENABLED": "false"})
    try:
        stack.create_admin()
        stack.nats.start()
        stack.start_service("records")
        stack.wait_serving("records", 30)
        with grpc.insecure_channel(stack.grpc_target("records")) as channel:
            auth = auth_pb2_grpc.AuthServiceStub(channel)
            signup = auth_pb2.SignUpRequest(email="new@example.com", password=PASSWORD)
            with pytest.raises(grpc.RpcError) as refused:
                auth.SignUp(signup, timeout=10)
            assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
            login = auth_pb2.LoginRequest(email=stack.admin_email, password=stack.admin_password)
            session = auth.Login(login, timeout=10)
            auth.Logout(auth_pb2.LogoutRequest(refresh_token=session.refresh_token), timeout=10)
            with pytest.raises(grpc.RpcError) as ended:
                refresh = auth_pb2.RefreshRequest(refresh_token=session.refresh_token)
                auth.Refresh(refresh, timeout=10)
            assert ended.value.code() is grpc.StatusCode.UNAUTHENTICATED
    finally:
        stack.stop()
