"""Access tokens: JWTs signed with Ed25519 (`EdDSA`), issued by records, verified everywhere.

    issuer = TokenIssuer(private_pem, issuer="joist", audience="joist", ttl=timedelta(minutes=15))
    token, expire_time = issuer.issue("0193…", {"user"})
    claims = TokenVerifier(public_pem, issuer="joist", audience="joist").verify(token)

Only records holds the private key; every service verifies with the public key. The algorithm
is fixed here, never read from the token: verification accepts `EdDSA` only, so `alg: none`,
HMAC tokens "signed" with the public key and RSA or EC tokens are all refused. A token must
carry `exp`, `iat`, `sub`, `aud` and `iss`; anything wrong with it raises `Unauthenticated`.

Keys are PEM: from an environment value when set (`auth.public_key`, `auth.private_key`), else
from a file (`auth.public_key_file`, `auth.private_key_file`). `joist run` makes a development
pair with `generate_key_pair`; production keys come from the Kubernetes Secret `joist-auth`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common.config import AuthConfig, ConfigError
from services.common.errors import Unauthenticated
from services.common.ids import new_id

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss")

T = TypeVar("T")


@dataclass(frozen=True)
class Claims:
    """What a verified token says; `expire_time` is naive UTC, as the databases keep time."""

    subject: str
    roles: frozenset[str]
    token_id: str
    expire_time: datetime


def _naive_utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class TokenIssuer:
    """Signs access tokens (only records has the private key)."""

    def __init__(self, private_key_pem: bytes, issuer: str, audience: str, ttl: timedelta) -> None:
        try:
            key = serialization.load_pem_private_key(private_key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a PEM private key without a password") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl

    @classmethod
    def from_config(cls, settings: AuthConfig) -> TokenIssuer:
        """The issuer of `auth.*`; ConfigError naming the setting when the key is unusable."""
        ttl = timedelta(seconds=settings.access_token_ttl)
        return _configured(
            lambda pem: cls(pem, settings.issuer, settings.audience, ttl),
            "auth.private_key",
            settings.private_key_file,
            settings.private_key,
        )

    def issue(
        self, subject: str, roles: Iterable[str], ttl: timedelta | None = None
    ) -> tuple[str, datetime]:
        """A signed token for `subject` with `roles`, and when it expires (naive UTC)."""
        seconds = int((self._ttl if ttl is None else ttl).total_seconds())
        if seconds < 1:
            raise ValueError("a token must live at least one second")
        if not subject:
            raise ValueError("a token needs a subject")
        now = int(datetime.now(UTC).timestamp())
        payload = {
            "sub": subject,
            "roles": sorted(set(roles)),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "jti": new_id(),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM), _naive_utc(now + seconds)


class TokenVerifier:
    """Checks access tokens with the public key; built once per process, used on every call.

    A client sends the same token on every call until it expires, and checking an Ed25519
    signature costs more than a small gRPC call: the claims of the last `cache_size` tokens
    that passed are remembered, and a repeated token costs a look-up and an expiry check."""

    def __init__(
        self,
        public_key_pem: bytes,
        issuer: str,
        audience: str,
        leeway: float = 5.0,
        cache_size: int = 4096,
    ) -> None:
        try:
            key = serialization.load_pem_public_key(public_key_pem)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a PEM public key") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._jwt = jwt.PyJWT(options={"require": list(REQUIRED_CLAIMS)})
        self._cache_size = cache_size
        self._verified: dict[str, tuple[Claims, float]] = {}  # token → claims, last valid second
        self._cache_guard = threading.Lock()

    @classmethod
    def from_config(cls, settings: AuthConfig) -> TokenVerifier:
        """The verifier of `auth.*`; ConfigError naming the setting when the key is unusable."""
        return _configured(
            lambda pem: cls(pem, settings.issuer, settings.audience),
            "auth.public_key",
            settings.public_key_file,
            settings.public_key,
        )

    def verify(self, token: str) -> Claims:
        """The token's claims; Unauthenticated when it is malformed, forged, expired, not yet
        valid, for another audience or issuer, or lacks a required claim."""
        known = self._verified.get(token)
        if known is not None:
            if time.time() <= known[1]:
                return known[0]
            self._verified.pop(token, None)
            raise Unauthenticated("the access token has expired")
        claims, expires = self._decode(token)
        with self._cache_guard:
            if len(self._verified) >= self._cache_size:
                self._verified.pop(next(iter(self._verified)))  # the oldest
            self._verified[token] = (claims, expires + self._leeway)
        return claims

    def _decode(self, token: str) -> tuple[Claims, int]:
        """Claims of a token that passes every check, and its `exp` (seconds)."""
        try:
            payload = self._jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the access token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the access token is not valid: {exc}") from exc
        expires = int(payload["exp"])
        claims = Claims(
            subject=_subject(payload),
            roles=_roles(payload.get("roles", [])),
            token_id=payload.get("jti", ""),
            expire_time=_naive_utc(expires),
        )
        return claims, expires


def _subject(payload: dict[str, Any]) -> str:
    subject = payload["sub"]
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the access token is not valid: sub must be a non-empty string")
    return subject


def _roles(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(role, str) for role in value):
        raise Unauthenticated("the access token is not valid: roles must be a list of strings")
    return frozenset(value)


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Writes a new Ed25519 pair as PEM (the private file readable by its owner only); does
    nothing when both files exist, and only writes the public half when the private exists."""
    if private_path.exists() and public_path.exists():
        return
    if private_path.exists():
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{private_path} is not an Ed25519 private key")
    else:
        key = Ed25519PrivateKey.generate()
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write(private_path, private_pem, 0o600)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(public_path, public_pem, 0o644)


def _write(path: Path, content: bytes, mode: int) -> None:
    """Writes `content` to a new file beside `path` with `mode`, then renames it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.replace(partial, path)


def load_key(path: str, env_value: str) -> bytes:
    """PEM from `env_value` when set (`\\n` escapes stand for line breaks, for env files that
    cannot hold several lines), else the content of the file at `path`."""
    if env_value:
        return env_value.replace("\\n", "\n").encode()
    return Path(path).read_bytes()


def _configured(build: Callable[[bytes], T], setting: str, path: str, env_value: str) -> T:
    """`build(pem)` with the key of `setting` (env) or `setting`_file; errors name the one used."""
    name = setting if env_value else f"{setting}_file"
    try:
        return build(load_key(path, env_value))
    except OSError as exc:
        raise ConfigError(
            f"{name}: cannot read {path}: {exc.strerror} (`joist run` makes a development key "
            "pair; in Kubernetes the Secret joist-auth provides it, see docs/deploy.md)"
        ) from exc
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc
