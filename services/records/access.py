"""Collection access rules, applied to the caller of each records call.

    PUBLIC          anyone
    AUTHENTICATED   any signed-in caller
    OWNER           a signed-in caller, on their own records only: lists show only theirs, and
                    another's record is NOT_FOUND (its existence is not revealed)
    ADMIN           admins only

Admins and internal services pass every rule. A caller who is not signed in where a rule wants
one is UNAUTHENTICATED; a signed-in one who lacks the role is PERMISSION_DENIED. A record's
`owner` is the id of the signed-in caller who created it (from the token, never the body), and
never changes.
"""

from __future__ import annotations

from services.common.auth import Caller
from services.common.errors import NotFound, PermissionDenied, Unauthenticated
from services.records.record import StoredRecord
from services.records.schema import Access, CollectionSpec


def privileged(caller: Caller) -> bool:
    return caller.is_admin or caller.is_service


def require(spec: CollectionSpec, operation: str, caller: Caller) -> None:
    """Raises unless the collection's rule for `operation` lets `caller` in at all."""
    rule: Access = getattr(spec.rules, operation)
    if rule is Access.PUBLIC or privileged(caller):
        return
    if not caller.authenticated:
        raise Unauthenticated(f"{operation} on {spec.name} needs a signed-in caller")
    if rule is Access.ADMIN:
        raise PermissionDenied(f"{operation} on {spec.name} is for admins")


def owner_scope(spec: CollectionSpec, operation: str, caller: Caller) -> str | None:
    """The owner a caller's access is limited to under an OWNER rule, else None."""
    if getattr(spec.rules, operation) is Access.OWNER and not privileged(caller):
        return caller.subject
    return None


def check_record(
    spec: CollectionSpec, operation: str, caller: Caller, record: StoredRecord
) -> None:
    """Hides a record the caller may not touch under an OWNER rule."""
    scope = owner_scope(spec, operation, caller)
    if scope is not None and record.owner != scope:
        raise NotFound(f"record {record.id!r} not found in collection {spec.name!r}")
