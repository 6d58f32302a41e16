"""The request dependencies every HTTP face shares: the database session, who is asking (an API key, a
browser session), and the permission a route declares.

Every route declares exactly one permission with `declares(...)` (API), `page_declares(...)` (pages),
`api_caller(...)` (hot async API routes) or `public()`; a test walks the app and fails on any route that
declares none. A declaration checks who is asking (a valid key, a signed-in person with the form's CSRF
token), not the permission itself: that is decided on the object by the verb the route calls (fetch and
authorize in one call, `access_*`), which answers 404 or 403 as the policy says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, SignedIn, identity_from_api_key, signed_in
from consortia.access.permissions import Permission
from consortia.db import get_database, keep_for_session
from consortia.errors import DomainError, Forbidden, NotFound, Unauthorized
from consortia.platform.models import Institution

SESSION_COOKIE = "consortia_session"
T = TypeVar("T")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error.

    A request that may change something (any method but GET, HEAD and OPTIONS) waits for the write
    lock when its transaction begins (`Database.writing_sessionmaker`); a read does not, and none
    waits for it. async: making the session does no I/O (a connection is taken on first use), so it
    costs no thread hop; the commit or rollback does, and runs in the thread pool, shielded from
    cancellation so that a client that goes away never leaves a connection checked out.
    """
    database = get_database()
    session = (database.sessionmaker if request.method in SAFE_METHODS else database.writing_sessionmaker)()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, False)
        raise
    if not session.in_transaction():
        session.close()  # nothing to commit (or the route committed, see `in_one_hop`): no I/O
        return
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_end, session, True)


async def in_one_hop(session: Session, work: Callable[[], T], *, reads_only: bool = False) -> T:
    """Run a route's work and the commit of its session in one thread-pool call.

    For async routes on hot paths (N-6), with `api_caller`: the key check, the route's reads and the
    commit then cost one thread hop instead of three. On an error the session is rolled back as usual.
    `reads_only`: the work writes nothing but single statements that stand alone (a key's use note);
    on PostgreSQL its statements then run outside a transaction, which saves the BEGIN and COMMIT round
    trips and changes nothing a read sees (under READ COMMITTED each statement takes its own snapshot).
    """

    def run() -> T:
        if reads_only:
            _without_transaction(session)
        result = work()
        session.commit()
        return result

    return await run_in_threadpool(run)


def _without_transaction(session: Session) -> None:
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _api_key_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "apikey" and value.strip():
        return value.strip()
    return request.query_params.get("apikey") or None


def _missing_key() -> Unauthorized:
    return Unauthorized("API key is missing: send 'Authorization: apikey <key>' or '?apikey=<key>'.")


def api_identity(request: Request, session: DbSession) -> Identity:
    """The caller of an API request, from its key; the operator works in `?institution=` when named."""
    key = _api_key_of(request)
    if key is None:
        raise _missing_key()
    return _identity_of(request, session, key)


def _identity_of(request: Request, session: Session, key: str, *, keep_institution: bool = True) -> Identity:
    identity = identity_from_api_key(session, key, keep_institution=keep_institution)
    if identity is None:
        raise Unauthorized("API-key not defined or not configured to allow this API.")
    if identity.is_operator:
        code = request.query_params.get("institution")
        institution_id = None
        if code:
            # The entity, not only its id: the route's look-up of the institution then needs no query.
            institution = session.scalars(select(Institution).where(Institution.code == code.upper())).first()
            if institution is None:
                raise NotFound(f"Institution {code} was not found.", "60224")
            keep_for_session(session, institution)
            institution_id = institution.id
        identity = identity.acting_in(institution_id)
    request.state.identity = identity
    return identity


def _declare(dependency: Callable[..., Any], permission: Permission) -> Callable[..., Any]:
    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def declares(permission: Permission) -> Callable[..., Identity]:
    """An API route's declaration: it needs a valid key, and works under `permission` (which the verbs check)."""

    # async: it does no I/O, so it runs on the event loop instead of costing a thread hop per request.
    async def dependency(request: Request, identity: Annotated[Identity, Depends(api_identity)]) -> Identity:
        request.state.permission = permission
        return identity

    return _declare(dependency, permission)


@dataclass(frozen=True)
class ApiCaller:
    """An API request's key, checked by `identity(session)` in the route's own thread (see `api_caller`)."""

    request: Request
    key: str

    def identity(self, session: Session, *, keep_institution: bool = True) -> Identity:
        """The same identity and the same refusals as `declares`; `keep_institution=False` for routes
        that need no entity of the institution they work in (`identity_from_api_key`)."""
        return _identity_of(self.request, session, self.key, keep_institution=keep_institution)


def api_caller(permission: Permission) -> Callable[..., Any]:
    """`declares` for async routes that do their work with `in_one_hop`: the declaration and the
    missing-key refusal happen here, on the event loop; the key itself is checked by the route's
    first step, `caller.identity(session)`, in the same thread call as the rest of its work."""

    async def dependency(request: Request) -> ApiCaller:
        request.state.permission = permission
        key = _api_key_of(request)
        if key is None:
            raise _missing_key()
        return ApiCaller(request, key)

    return _declare(dependency, permission)


def public() -> Callable[..., None]:
    """A route anyone may call (sign-in, registration, health)."""

    async def dependency(request: Request) -> None:
        request.state.permission = Permission.PUBLIC

    return _declare(dependency, Permission.PUBLIC)


# --- pages ------------------------------------------------------------------------------------


class SignInRequired(DomainError):
    """A page needs a signed-in person; the page layer answers with a redirect to the sign-in page."""

    status = 401
    default_code = "UNAUTHORIZED"


def page_session(request: Request, session: DbSession) -> SignedIn | None:
    found = signed_in(session, request.cookies.get(SESSION_COOKIE))
    request.state.signed_in = found
    if found is not None:
        request.state.identity = found.identity
    return found


async def _check_csrf(request: Request, found: SignedIn) -> None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    form = await request.form()
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not token or token != found.web_session.csrf_token:
        raise Forbidden("The form has expired or did not come from this site; reload the page and try again.")


def page_declares(permission: Permission) -> Callable[..., Any]:
    """A page route's declaration: a signed-in person (CSRF-checked on every POST), under `permission` (which
    the verbs check)."""

    async def dependency(request: Request, found: Annotated[SignedIn | None, Depends(page_session)]) -> Identity:
        if found is None:
            raise SignInRequired("Sign in to continue.")
        await _check_csrf(request, found)
        request.state.permission = permission
        return found.identity

    return _declare(dependency, permission)
