"""Access tokens: a good one round-trips; every forged, stale or foreign one is Unauthenticated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.config import AuthConfig, ConfigError
from services.common.errors import Unauthenticated
from services.common.tokens import (
    ALGORITHM,
    TokenIssuer,
    TokenVerifier,
    generate_key_pair,
    load_key,
)

ISSUER, AUDIENCE = "joist", "joist"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return (folder / "private.pem").read_bytes(), (folder / "public.pem").read_bytes()


@pytest.fixture(scope="module")
def issuer(keys: tuple[bytes, bytes]) -> TokenIssuer:
    return TokenIssuer(keys[0], ISSUER, AUDIENCE, timedelta(minutes=15))


@pytest.fixture(scope="module")
def verifier(keys: tuple[bytes, bytes]) -> TokenVerifier:
    return TokenVerifier(keys[1], ISSUER, AUDIENCE)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(unb64(header)), json.loads(unb64(payload)), signature


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "user-1",
        "roles": ["user"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": "token-1",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], keys: tuple[bytes, bytes]) -> str:
    return jwt.encode(payload, keys[0], algorithm=ALGORITHM)


def rejects(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    return caught.value.message


def test_a_good_token_round_trips(issuer: TokenIssuer, verifier: TokenVerifier):
    token, expire_time = issuer.issue("user-1", ["user", "admin", "user"])
    got = verifier.verify(token)
    assert got.subject == "user-1"
    assert got.roles == frozenset({"user", "admin"})
    assert got.token_id
    assert got.expire_time == expire_time
    assert expire_time.tzinfo is None  # naive UTC, as the databases keep time
    now = datetime.now(UTC).replace(tzinfo=None)
    assert timedelta(minutes=14) < expire_time - now <= timedelta(minutes=15)
    header, payload, _ = unverified_parts(token)
    assert header["alg"] == "EdDSA"
    assert {"sub", "roles", "iss", "aud", "iat", "nbf", "exp", "jti"} <= set(payload)


def test_issue_takes_its_own_ttl_and_ids_differ(issuer: TokenIssuer, verifier: TokenVerifier):
    first, expire_time = issuer.issue("service:reports", {"service"}, ttl=timedelta(days=90))
    second, _ = issuer.issue("service:reports", {"service"})
    assert expire_time - datetime.now(UTC).replace(tzinfo=None) > timedelta(days=89)
    assert verifier.verify(first).token_id != verifier.verify(second).token_id
    with pytest.raises(ValueError):
        issuer.issue("user-1", [], ttl=timedelta(0))


def test_alg_none_is_refused(verifier: TokenVerifier):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    assert "alg" in rejects(verifier, f"{header}.{payload}.")


def test_hs256_signed_with_the_public_key_is_refused(verifier: TokenVerifier, keys):
    """The classic algorithm confusion: HMAC with the (public) verification key as secret."""
    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        + "."
        + b64(json.dumps(claims(roles=["admin"])).encode())
    )
    mac = hmac.new(keys[1], signing_input.encode(), hashlib.sha256).digest()
    rejects(verifier, f"{signing_input}.{b64(mac)}")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_rsa_and_ec_tokens_are_refused(verifier: TokenVerifier, algorithm: str):
    if algorithm == "RS256":
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    assert "alg" in rejects(verifier, jwt.encode(claims(), key, algorithm=algorithm))


def test_expired_is_refused(verifier: TokenVerifier, keys):
    past = int(time.time()) - 3600
    token = signed(claims(iat=past - 900, nbf=past - 900, exp=past), keys)
    assert rejects(verifier, token) == "the access token has expired"


def test_expiry_within_the_leeway_is_accepted(verifier: TokenVerifier, keys):
    now = int(time.time())
    assert verifier.verify(signed(claims(iat=now - 60, nbf=now - 60, exp=now - 2), keys))


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid_is_refused(verifier: TokenVerifier, keys, claim: str):
    rejects(verifier, signed(claims(**{claim: int(time.time()) + 60}), keys))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "someone-else"}, id="wrong-aud"),
        pytest.param({"iss": "someone-else"}, id="wrong-iss"),
        pytest.param({"sub": None}, id="no-sub"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"iat": None}, id="no-iat"),
        pytest.param({"aud": None}, id="no-aud"),
        pytest.param({"iss": None}, id="no-iss"),
        pytest.param({"sub": ""}, id="empty-sub"),
        pytest.param({"sub": 42}, id="number-sub"),
        pytest.param({"roles": "admin"}, id="roles-not-a-list"),
        pytest.param({"roles": [1]}, id="roles-not-strings"),
    ],
)
def test_bad_claims_are_refused(verifier: TokenVerifier, keys, changes: dict[str, Any]):
    rejects(verifier, signed(claims(**changes), keys))


def test_tampered_payload_is_refused(issuer: TokenIssuer, verifier: TokenVerifier):
    token, _ = issuer.issue("user-1", ["user"])
    header, _, signature = token.split(".")
    _, payload, _ = unverified_parts(token)
    forged = b64(json.dumps({**payload, "roles": ["admin"]}).encode())
    rejects(verifier, f"{header}.{forged}.{signature}")


def test_another_ed25519_key_is_refused(verifier: TokenVerifier):
    rejects(verifier, jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA"))


@pytest.mark.parametrize(
    "garbage", ["", "garbage", "a.b.c", "....", "eyJ.eyJ.sig", "é.é.é", "x" * 10_000]
)
def test_garbage_is_refused(verifier: TokenVerifier, garbage: str):
    rejects(verifier, garbage)


def test_keys_of_the_wrong_kind_are_refused(keys):
    with pytest.raises(ValueError, match="public key"):
        TokenVerifier(keys[0], ISSUER, AUDIENCE)  # the private key where the public one goes
    with pytest.raises(ValueError, match="private key"):
        TokenIssuer(keys[1], ISSUER, AUDIENCE, timedelta(minutes=1))
    with pytest.raises(ValueError):
        TokenVerifier(b"not a key", ISSUER, AUDIENCE)


def test_generate_key_pair_writes_once_with_a_private_mode(tmp_path: Path):
    private, public = tmp_path / "keys" / "private.pem", tmp_path / "keys" / "public.pem"
    generate_key_pair(private, public)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    first = private.read_bytes(), public.read_bytes()
    generate_key_pair(private, public)
    assert (private.read_bytes(), public.read_bytes()) == first
    public.unlink()  # a lost public half is derived again from the private key
    generate_key_pair(private, public)
    assert (private.read_bytes(), public.read_bytes()) == first
    assert sorted(p.name for p in private.parent.iterdir()) == ["private.pem", "public.pem"]


def test_load_key_prefers_the_environment(tmp_path: Path, keys):
    path = tmp_path / "public.pem"
    path.write_bytes(keys[1])
    assert load_key(str(path), "") == keys[1]
    escaped = keys[1].decode().replace("\n", "\\n")
    assert load_key(str(tmp_path / "missing.pem"), escaped) == keys[1]


def test_from_config_names_the_setting(tmp_path: Path, keys):
    missing = AuthConfig(public_key_file=str(tmp_path / "none.pem"))
    with pytest.raises(ConfigError, match=r"^auth\.public_key_file: cannot read"):
        TokenVerifier.from_config(missing)
    with pytest.raises(ConfigError, match=r"^auth\.private_key: not a PEM private key"):
        TokenIssuer.from_config(AuthConfig(private_key="nonsense"))
    configured = AuthConfig(public_key=keys[1].decode(), private_key=keys[0].decode())
    token, _ = TokenIssuer.from_config(configured).issue("user-1", ["user"])
    assert TokenVerifier.from_config(configured).verify(token).subject == "user-1"


def test_a_remembered_token_still_expires(keys):
    verifier = TokenVerifier(keys[1], ISSUER, AUDIENCE, leeway=0, cache_size=2)
    now = int(time.time())
    others = [signed(claims(jti=f"other-{i}"), keys) for i in range(3)]
    for token in others:  # more tokens than the cache keeps: the oldest are forgotten
        assert verifier.verify(token).token_id.startswith("other-")
    assert verifier.verify(others[0]) == verifier.verify(others[0])
    short = signed(claims(exp=now + 1), keys)
    assert verifier.verify(short).subject == "user-1"
    assert verifier.verify(short).subject == "user-1"  # remembered
    time.sleep(max(0.0, now + 2 - time.time()))
    assert rejects(verifier, short) == "the access token has expired"
