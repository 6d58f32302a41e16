"""Electronic inventory verbs (ER-1, ER-5 .. ER-9, ER-17): fetch-and-authorize, create, change, delete,
with history (P-6) in the caller's transaction; the entry point commits.

Every read of a protected row goes through an `access_*` function: an unknown id and a resource of
another institution answer the same 404 (R-3); a visible resource the caller may not change answers
403 with the scope rule's reason. Bad choices in a body (a library of another institution, a
collection out of scope, an unknown code) are 400s naming the field, and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows, authorize, demand
from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.db import today, utcnow
from consortia.eresources import policy as scope
from consortia.eresources.marc import ParsedBib, minimal_marcxml
from consortia.eresources.models import (
    AVAILABILITY,
    COLLECTION_TYPES,
    SERVICE_TYPES,
    SET_COLLECTION_LIBRARY,
    BibRecord,
    ElectronicCollection,
    ElectronicService,
    Portfolio,
)
from consortia.eresources.policy import COLLECTION, PORTFOLIO, SERVICE, Scoped
from consortia.eresources.task_items import add_activation_item
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.platform.models import Institution, Library
from consortia.platform.parameters import parameter_value

ATTACH_WARNING = (
    "The portfolio you are about to attach has a different library definition than the selected electronic "
    "collection. Once confirmed, the portfolio will inherit the electronic collection's library definition. "
    "Note that this action cannot be reversed."
)
# ER-7: what a person confirms before a collection takes a library.
LIBRARY_CONFIRMATION = (
    "Setting a library to the electronic collection will delete any existing library value from all its portfolios, "
    "and they will inherit the collection's library definition. This action will be done by a background process "
    "and cannot be reversed."
)
MAX_ID = 2**31 - 1


# --- the institution's facts the rule needs ---------------------------------------------------


@event.listens_for(Session, "after_transaction_end")
def _forget_institution_facts(session: Session, _transaction: Any) -> None:
    """The cached switch and libraries last one transaction (a change is seen by the next one)."""
    session.info.pop("eresources.limits", None)
    session.info.pop("eresources.libraries", None)
    session.info.pop("eresources.codes", None)


def limits_on(session: Session, institution_id: int) -> bool:
    """The institution's switch (ER-2), read once per session."""
    cache: dict[int, bool] = session.info.setdefault("eresources.limits", {})
    if institution_id not in cache:
        cache[institution_id] = bool(parameter_value(session, institution_id, scope.SWITCH))
    return cache[institution_id]


def libraries_of(session: Session, institution_id: int) -> dict[int, Library]:
    """The institution's libraries by id, read once per session."""
    cache: dict[int, dict[int, Library]] = session.info.setdefault("eresources.libraries", {})
    if institution_id not in cache:
        rows = session.scalars(select(Library).where(Library.institution_id == institution_id).order_by(Library.code))
        cache[institution_id] = {library.id: library for library in rows}
    return cache[institution_id]


def library_codes(session: Session, institution_id: int) -> dict[int, str]:
    cache: dict[int, dict[int, str]] = session.info.setdefault("eresources.codes", {})
    if institution_id not in cache:
        cache[institution_id] = {i: library.code for i, library in libraries_of(session, institution_id).items()}
    return cache[institution_id]


def scoped(session: Session, resource: Any) -> Scoped:
    """A collection, service or portfolio as the scope rule sees it."""
    if isinstance(resource, Portfolio):
        kind = PORTFOLIO
        inherited = resource.collection is not None and resource.collection.library_id is not None
    elif isinstance(resource, ElectronicCollection):
        kind, inherited = COLLECTION, False
    else:
        kind, inherited = SERVICE, True
    return Scoped(
        kind=kind,
        id=resource.id,
        institution_id=resource.institution_id,
        effective_library_id=scope.effective_library_id(resource),
        limits=limits_on(session, resource.institution_id),
        inherited=inherited,
        library_codes=library_codes(session, resource.institution_id),
    )


def rows_scope(session: Session, kind: str, institution_id: int, model: Any) -> scope.ScopedRows:
    """The rows of a query of `kind` in one institution, for the rule's SQL face."""
    effective = scope.effective_library_sql() if kind == PORTFOLIO else ElectronicCollection.library_id.expression
    return scope.ScopedRows(kind, model.institution_id, effective, limits_on(session, institution_id))


# --- not found --------------------------------------------------------------------------------


def collection_not_found(cid: Any) -> NotFound:
    return NotFound(f"The collection ID is not valid: {cid}.", "60121")


def service_not_found(sid: Any) -> NotFound:
    return NotFound(f"The Service ID was not found: {sid}.", "60122")


def portfolio_not_found(pid: Any) -> NotFound:
    return NotFound(f"Failed to find the Portfolio ID: {pid}.", "60123")


def bib_not_found(mms_id: Any) -> NotFound:
    return NotFound(f"The MMS ID is not valid: {mms_id}.", "402203")


def resource_id(value: str | int) -> int | None:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 10 or int(text) > MAX_ID or int(text) < 1:
        return None
    return int(text)


def in_acting_institution(identity: Identity, institution_id: int) -> bool:
    """The operator working in an institution sees that institution's resources only."""
    return not (
        identity.is_operator
        and identity.acting_institution_id is not None
        and identity.acting_institution_id != institution_id
    )


# --- fetch and authorize ----------------------------------------------------------------------


def access_collection(
    session: Session, identity: Identity, cid: str | int, permission: P = P.ERESOURCE_READ
) -> ElectronicCollection:
    number = resource_id(cid)
    collection = session.get(ElectronicCollection, number) if number is not None else None
    if collection is None or not in_acting_institution(identity, collection.institution_id):
        raise collection_not_found(cid)
    authorize(identity, permission, scoped(session, collection), not_found=collection_not_found(cid))
    return collection


def access_service(
    session: Session, identity: Identity, cid: str | int, sid: str | int, permission: P = P.ERESOURCE_READ
) -> ElectronicService:
    collection = access_collection(session, identity, cid)
    number = resource_id(sid)
    service = session.get(ElectronicService, number) if number is not None else None
    if service is None or service.collection_id != collection.id:
        raise service_not_found(sid)
    authorize(identity, permission, scoped(session, service), not_found=service_not_found(sid))
    return service


def access_portfolio(
    session: Session,
    identity: Identity,
    pid: str | int,
    permission: P = P.ERESOURCE_READ,
    *,
    bib_id: int | None = None,
    service_id: int | None = None,
) -> Portfolio:
    """A portfolio (of that record or that service when given), checked for `permission`."""
    number = resource_id(pid)
    portfolio = session.get(Portfolio, number) if number is not None else None
    if (
        portfolio is None
        or not in_acting_institution(identity, portfolio.institution_id)
        or (bib_id is not None and portfolio.bib_id != bib_id)
        or (service_id is not None and portfolio.service_id != service_id)
    ):
        raise portfolio_not_found(pid)
    authorize(identity, permission, scoped(session, portfolio), not_found=portfolio_not_found(pid))
    return portfolio


def access_bib(session: Session, identity: Identity, mms_id: str | int) -> BibRecord:
    number = resource_id(mms_id)
    bib = session.get(BibRecord, number) if number is not None else None
    if bib is None or not in_acting_institution(identity, bib.institution_id):
        raise bib_not_found(mms_id)
    authorize(identity, P.ERESOURCE_READ, bib, not_found=bib_not_found(mms_id))
    return bib


def check_version(resource: Any, expected: int | None, what: str) -> None:
    """R-4: a change made from an older version of the resource is refused (409)."""
    if expected is not None and expected != resource.version:
        raise Conflict(f"The {what} was changed by someone else (version {resource.version}); reload it and try again.")


# --- choices ----------------------------------------------------------------------------------


def library_choices(session: Session, identity: Identity, institution_id: int) -> list[Library]:
    """Libraries the caller may put on a resource (ER-7, ER-8, ER-17)."""
    libraries = libraries_of(session, institution_id)
    ids = scope.library_choices(identity, libraries, limits_on(session, institution_id))
    return [libraries[i] for i in ids]


def chosen_library(session: Session, identity: Identity, institution_id: int, code: str | None) -> Library | None:
    """The library a body names (None for "" or none): a library of the institution (402469 otherwise,
    the same for another institution's), within the caller's choices."""
    if code is None or not code.strip():
        return None
    wanted = code.strip().upper()
    library = next((lib for lib in libraries_of(session, institution_id).values() if lib.code == wanted), None)
    if library is None:
        raise BadRequest(f"library: The library code is not valid: {code}.", "402469")
    if library not in library_choices(session, identity, institution_id):
        raise BadRequest(
            f"library: {library.code} is not a library of your role scope; choose one of: "
            + (", ".join(lib.code for lib in library_choices(session, identity, institution_id)) or "none"),
            "402469",
        )
    return library


def no_library_choice(session: Session, identity: Identity, institution_id: int) -> bool:
    """Whether the caller may take the library off an existing resource (ER-7, ER-8): see
    `policy.no_library_choice`."""
    return scope.no_library_choice(identity, limits_on(session, institution_id))


def _check_no_library(session: Session, identity: Identity, institution_id: int) -> None:
    """ER-7, ER-8: "None" is a choice of the operator and of institution scope only (400 otherwise)."""
    if no_library_choice(session, identity, institution_id):
        return
    codes = ", ".join(lib.code for lib in library_choices(session, identity, institution_id)) or "none"
    raise BadRequest(
        "library: None is not among your choices: without a library the resource is at institution level, "
        f"outside your role scope, and you could no longer edit it; choose one of: {codes}.",
        "402469",
    )


def _code_of(library: Library | None) -> str | None:
    return library.code if library is not None else None


def _record(session: Session, entity: str, resource: Any, field: str, old: Any, new: Any, actor: Actor) -> None:
    record(
        session,
        entity=entity,
        entity_id=resource.id,
        field=field,
        old=old,
        new=new,
        actor=actor,
        institution_id=resource.institution_id,
    )


def _not_among(value: str, table: dict[str, str], field: str) -> str:
    return f"{field}: {value!r} is not valid; use one of: {', '.join(table)}."


def _checked_type(value: str | None, table: dict[str, str]) -> str | None:
    """A collection or service type code of `table` (60127 otherwise); None stays None (unchanged)."""
    if value is not None and value not in table:
        raise BadRequest(_not_among(value, table, "type"), "60127")
    return value


def _checked_availability(value: str | None, field: str) -> str | None:
    """An availability or activation status code (60161 otherwise); None stays None (unchanged)."""
    if value is not None and value not in AVAILABILITY:
        raise BadRequest(_not_among(value, AVAILABILITY, field), "60161")
    return value


def put_in_activation_list(session: Session, resource: Any, actor: Actor) -> None:
    """ER-15: a local resource goes into its institution's Activation Task List (`eresources.tasks`
    imports this module, hence the late import)."""
    from consortia.eresources.task_models import CREATED_LOCALLY

    add_activation_item(session, CREATED_LOCALLY, resource, actor)


# --- collections ------------------------------------------------------------------------------


@dataclass
class CollectionChange:
    public_name: str | None = None
    description: str | None = None
    type: str | None = None
    library: str | None = None  # None: unchanged; "": none
    interface_name: str | None = None
    vendor: str | None = None
    activation_status: str | None = None
    po_line: str | None = None
    license: str | None = None
    version: int | None = None


def create_collection(
    session: Session, identity: Identity, institution: Institution, change: CollectionChange
) -> ElectronicCollection:
    """A local collection (ER-23): at institution level unless the body gives a library in scope."""
    demand(identity, P.COLLECTION_CREATE, InInstitution(institution.id))
    if not change.public_name:
        raise BadRequest("public_name: The collection name is missing.", "60126")
    kind = _checked_type(change.type or "0", COLLECTION_TYPES)
    status = _checked_availability(change.activation_status, "activation_status")
    library = chosen_library(session, identity, institution.id, change.library)
    collection = ElectronicCollection(
        institution_id=institution.id,
        public_name=change.public_name,
        description=change.description or "",
        type=kind,
        library_id=library.id if library else None,
        is_local=True,
        activation_status=status or "11",
        activation_date=today(),
        interface_name=change.interface_name or "",
        vendor=change.vendor or "",
        po_line=change.po_line or "",
        license=change.license or "",
    )
    session.add(collection)
    session.flush()
    collection.library = library
    _record(session, COLLECTION, collection, "created", None, collection.public_name, identity.actor)
    _record(session, COLLECTION, collection, "library", None, _code_of(library), identity.actor)
    put_in_activation_list(session, collection, identity.actor)
    return collection


def update_collection(
    session: Session, identity: Identity, collection: ElectronicCollection, change: CollectionChange
) -> Any:
    """Change a collection (the caller was authorized for COLLECTION_EDIT); a new library starts the job
    of ER-7, whose instance is answered (None when no job was needed)."""
    check_version(collection, change.version, "electronic collection")
    status = _checked_availability(change.activation_status, "activation_status")
    kind = _checked_type(change.type, COLLECTION_TYPES)
    library = collection.library
    if change.library is not None:
        library = chosen_library(session, identity, collection.institution_id, change.library)
    if change.public_name is not None and not change.public_name:
        raise BadRequest("public_name: The collection name is missing.", "60126")
    for field, value in (
        ("public_name", change.public_name),
        ("description", change.description),
        ("type", kind),
        ("interface_name", change.interface_name),
        ("vendor", change.vendor),
        ("activation_status", status),
        ("po_line", change.po_line),
        ("license", change.license),
    ):
        if value is not None and getattr(collection, field) != value:
            _record(session, COLLECTION, collection, field, getattr(collection, field), value, identity.actor)
            setattr(collection, field, value)
    collection.updated_at = utcnow()
    if change.library is not None and library != collection.library:
        return set_collection_library(session, identity, collection, library)
    session.flush()
    return None


def set_collection_library(
    session: Session, identity: Identity, collection: ElectronicCollection, library: Library | None
) -> Any:
    """ER-7: the collection takes `library` now (its portfolios inherit it at once, ER-3), and a job of
    "Set Electronic Collection Library" clears the library of every portfolio of the collection in the
    background; the collection's history row names that job's instance. Clearing the collection's
    library needs no job (its portfolios' own libraries were cleared when it got one)."""
    from consortia.jobs.registry import job_kind
    from consortia.jobs.service import submit

    authorize(identity, P.COLLECTION_EDIT, scoped(session, collection), not_found=collection_not_found(collection.id))
    if library is not None and library not in library_choices(session, identity, collection.institution_id):
        raise BadRequest(f"library: {library.code} is not a library of your role scope.", "402469")
    old = collection.library
    if library == old:
        return None
    if library is None:
        _check_no_library(session, identity, collection.institution_id)
    instance = None
    actor = identity.actor
    if library is not None:
        kind = job_kind(SET_COLLECTION_LIBRARY)
        assert kind is not None
        instance = submit(
            session,
            identity,
            kind,
            {"collection_id": str(collection.id), "library": library.code},
            related=(COLLECTION, collection.id),
        )
        actor = actor.in_job(instance.id)
    collection.library_id = library.id if library else None
    collection.library = library
    collection.updated_at = utcnow()
    _record(session, COLLECTION, collection, "library", _code_of(old), _code_of(library), actor)
    session.flush()
    return instance


def latest_library_job(session: Session, identity: Identity, collection: ElectronicCollection) -> Any:
    """The last "Set Electronic Collection Library" instance of a collection, when the caller may see it."""
    from consortia.jobs.models import JobInstance

    instance = session.scalars(
        select(JobInstance)
        .where(JobInstance.related_entity == COLLECTION, JobInstance.related_id == str(collection.id))
        .order_by(JobInstance.id.desc())
        .limit(1)
    ).first()
    return instance if instance is not None and allows(identity, P.JOB_READ, instance) else None


def delete_collection(session: Session, identity: Identity, collection: ElectronicCollection) -> None:
    """Delete a collection without services; the delete rule (ER-6) is checked here, whatever the entry point."""
    authorize(identity, P.COLLECTION_DELETE, scoped(session, collection), not_found=collection_not_found(collection.id))
    services = session.scalar(
        select(func.count()).select_from(ElectronicService).where(ElectronicService.collection_id == collection.id)
    )
    if services:
        raise BadRequest("The delete is blocked: the electronic collection still has e-services.", "60289")
    _record(session, COLLECTION, collection, "deleted", collection.public_name, None, identity.actor)
    session.delete(collection)
    session.flush()


def portfolio_counts(session: Session, column: Any, ids: Iterable[int]) -> dict[int, int]:
    """Portfolios per collection or per service (`column`) for these ids."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(wanted)).group_by(column))
    return {int(key): int(count) for key, count in rows}


def list_collections(
    session: Session, identity: Identity, institution: Institution, *, name: str | None, limit: int, offset: int
) -> tuple[list[ElectronicCollection], int]:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    condition = [ElectronicCollection.institution_id == institution.id]
    if name:
        condition.append(func.lower(ElectronicCollection.public_name).contains(name.lower(), autoescape=True))
    total = int(session.scalar(select(func.count()).select_from(ElectronicCollection).where(*condition)) or 0)
    rows = list(
        session.scalars(
            select(ElectronicCollection).where(*condition).order_by(ElectronicCollection.id).limit(limit).offset(offset)
        )
    )
    return rows, total


# --- services ---------------------------------------------------------------------------------


def create_service(
    session: Session,
    identity: Identity,
    collection: ElectronicCollection,
    *,
    type: str | None,
    public_description: str | None,
    activation_status: str | None,
) -> ElectronicService:
    """Add a service to a collection ("Add" on the collection: ER-5 on the collection)."""
    authorize(identity, P.COLLECTION_EDIT, scoped(session, collection), not_found=collection_not_found(collection.id))
    service = ElectronicService(
        institution_id=collection.institution_id,
        collection_id=collection.id,
        type=_checked_type(type or "getFullTxt", SERVICE_TYPES),
        public_description=public_description or "",
        activation_status=_checked_availability(activation_status, "activation_status") or "11",
    )
    session.add(service)
    session.flush()
    session.refresh(service)
    _record(session, SERVICE, service, "created", None, service.type, identity.actor)
    return service


def update_service(
    session: Session,
    identity: Identity,
    service: ElectronicService,
    *,
    type: str | None,
    public_description: str | None,
    activation_status: str | None,
    version: int | None,
) -> None:
    check_version(service, version, "electronic service")
    for field, value in (
        ("type", _checked_type(type, SERVICE_TYPES)),
        ("public_description", public_description),
        ("activation_status", _checked_availability(activation_status, "activation_status")),
    ):
        if value is not None and getattr(service, field) != value:
            _record(session, SERVICE, service, field, getattr(service, field), value, identity.actor)
            setattr(service, field, value)
    session.flush()


def delete_service(session: Session, identity: Identity, service: ElectronicService) -> None:
    """Delete a service without portfolios (ER-6, ER-11: the delete rule is checked here)."""
    authorize(identity, P.SERVICE_DELETE, scoped(session, service), not_found=service_not_found(service.id))
    count = session.scalar(select(func.count()).select_from(Portfolio).where(Portfolio.service_id == service.id))
    if count:
        raise BadRequest("The delete is blocked: the e-service still has portfolios.", "60289")
    _record(session, SERVICE, service, "deleted", service.type, None, identity.actor)
    session.delete(service)
    session.flush()


def list_services(session: Session, collection: ElectronicCollection) -> list[ElectronicService]:
    return list(
        session.scalars(
            select(ElectronicService)
            .where(ElectronicService.collection_id == collection.id)
            .order_by(ElectronicService.id)
        )
    )


# --- bibliographic records --------------------------------------------------------------------


def create_bib(session: Session, identity: Identity, institution: Institution, parsed: ParsedBib) -> BibRecord:
    demand(identity, P.BIB_CREATE, InInstitution(institution.id))
    now = utcnow()
    bib = BibRecord(
        institution_id=institution.id,
        title=parsed.title,
        author=parsed.author,
        issn=parsed.issn,
        isbn=parsed.isbn,
        marcxml=parsed.marcxml,
        created_at=now,
        updated_at=now,
    )
    session.add(bib)
    session.flush()
    _record(session, "bib", bib, "created", None, bib.title, identity.actor)
    return bib


def bib_for_title(
    session: Session, institution_id: int, title: str, *, issn: str = "", isbn: str = "", actor: Actor
) -> BibRecord:
    """A record made for a title (Community Zone activation): MARCXML built from the title."""
    now = utcnow()
    bib = BibRecord(
        institution_id=institution_id,
        title=title[:500],
        issn=issn,
        isbn=isbn,
        marcxml=minimal_marcxml(title, issn=issn, isbn=isbn),
        created_at=now,
        updated_at=now,
    )
    session.add(bib)
    session.flush()
    _record(session, "bib", bib, "created", None, bib.title, actor)
    return bib


# --- portfolios -------------------------------------------------------------------------------


@dataclass
class PortfolioChange:
    library: str | None = None  # None: unchanged; "": none
    availability: str | None = None
    coverage: str | None = None
    po_line: str | None = None
    license: str | None = None
    collection_id: str | None = None
    service_id: str | None = None
    version: int | None = None


def collection_in_scope(
    session: Session, identity: Identity, institution_id: int, cid: str | None, sid: str | None
) -> tuple[ElectronicCollection, ElectronicService]:
    """A collection and service a portfolio may be put in (ER-9, ER-17): of the institution (400 naming
    the field otherwise, another institution's alike), within the caller's scope, with the service its own."""
    number = resource_id(cid or "")
    collection = session.get(ElectronicCollection, number) if number is not None else None
    if collection is None or collection.institution_id != institution_id:
        raise BadRequest(f"electronic_collection: The collection ID is not valid: {cid}.", "60151")
    if not allows(identity, P.COLLECTION_EDIT, scoped(session, collection)):
        raise BadRequest(
            f"electronic_collection: {collection.public_name} is not in your role scope; choose a collection "
            "whose library you may edit.",
            "60151",
        )
    services = list_services(session, collection)
    if sid is None or not str(sid).strip():
        if not services:
            raise BadRequest("electronic_collection.service: the collection has no e-service.", "60122")
        return collection, services[0]
    service = next((s for s in services if str(s.id) == str(sid).strip()), None)
    if service is None:
        raise BadRequest(f"electronic_collection.service: The Service ID was not found: {sid}.", "60122")
    return collection, service


def create_portfolio(
    session: Session, identity: Identity, institution: Institution, bib: BibRecord, change: PortfolioChange
) -> Portfolio:
    """Add Local Portfolio (ER-17, ER-23): standalone or part of a collection in scope; the library is one
    of the caller's choices, or the collection's (shown read-only) when the collection has one."""
    demand(identity, P.PORTFOLIO_CREATE, InInstitution(institution.id))
    collection = service = None
    if change.collection_id:
        collection, service = collection_in_scope(
            session, identity, institution.id, change.collection_id, change.service_id
        )
    library = None
    if collection is not None and collection.library_id is not None:
        if change.library and change.library.strip().upper() != collection.library.code:  # type: ignore[union-attr]
            raise BadRequest(
                "library: the electronic collection has a library, which its portfolios inherit; "
                "a portfolio of it takes no library of its own.",
                "402469",
            )
    else:
        library = chosen_library(session, identity, institution.id, change.library)
    now = utcnow()
    portfolio = Portfolio(
        institution_id=institution.id,
        bib_id=bib.id,
        collection_id=collection.id if collection else None,
        service_id=service.id if service else None,
        library_id=library.id if library else None,
        title=bib.title,
        issn=bib.issn,
        isbn=bib.isbn,
        availability=_checked_availability(change.availability, "availability") or "11",
        coverage=change.coverage or "",
        po_line=change.po_line or "",
        license=change.license or "",
        is_local=True,
        activation_date=today(),
        created_at=now,
        updated_at=now,
    )
    session.add(portfolio)
    session.flush()
    session.refresh(portfolio)
    _record(session, PORTFOLIO, portfolio, "created", None, portfolio.title, identity.actor)
    _record(session, PORTFOLIO, portfolio, "library", None, _code_of(library), identity.actor)
    put_in_activation_list(session, portfolio, identity.actor)
    return portfolio


def update_portfolio(session: Session, identity: Identity, portfolio: Portfolio, change: PortfolioChange) -> None:
    """Change a portfolio (the caller was authorized for PORTFOLIO_EDIT). ER-8: while its collection has a
    library, the portfolio's own library cannot be set (400); otherwise it is one of the caller's choices."""
    check_version(portfolio, change.version, "portfolio")
    availability = _checked_availability(change.availability, "availability")
    if change.library is not None:
        set_portfolio_library(session, identity, portfolio, change.library)
    for field, value in (
        ("availability", availability),
        ("coverage", change.coverage),
        ("po_line", change.po_line),
        ("license", change.license),
    ):
        if value is not None and getattr(portfolio, field) != value:
            _record(session, PORTFOLIO, portfolio, field, getattr(portfolio, field), value, identity.actor)
            setattr(portfolio, field, value)
    portfolio.updated_at = utcnow()
    session.flush()


def set_portfolio_library(session: Session, identity: Identity, portfolio: Portfolio, code: str) -> None:
    collection = portfolio.collection
    if collection is not None and collection.library_id is not None:
        if not code.strip() or code.strip().upper() == (portfolio.library.code if portfolio.library else ""):
            return  # the body repeats what is there (a PUT of a GET)
        raise BadRequest(
            f"library: the portfolio inherits the library {collection.library.code} of its electronic "  # type: ignore[union-attr]
            "collection; its own library cannot be set.",
            "402469",
        )
    library = chosen_library(session, identity, portfolio.institution_id, code)
    if library == portfolio.library:
        return
    if library is None:
        _check_no_library(session, identity, portfolio.institution_id)
    _record(session, PORTFOLIO, portfolio, "library", _code_of(portfolio.library), _code_of(library), identity.actor)
    portfolio.library_id = library.id if library else None
    portfolio.library = library


def attach_portfolio(
    session: Session,
    identity: Identity,
    portfolio: Portfolio,
    collection_id: str,
    service_id: str | None,
    *,
    confirm: bool,
) -> Portfolio:
    """ER-9: attach a standalone portfolio to a collection in scope. When both have a library and they
    differ, the first answer is 409 with the warning; confirmed, the portfolio's library is deleted
    (it inherits the collection's)."""
    authorize(identity, P.PORTFOLIO_EDIT, scoped(session, portfolio), not_found=portfolio_not_found(portfolio.id))
    if not portfolio.is_standalone:
        raise BadRequest("portfolio: only a standalone portfolio can be attached to an electronic collection.")
    collection, service = collection_in_scope(session, identity, portfolio.institution_id, collection_id, service_id)
    differs = (
        portfolio.library_id is not None
        and collection.library_id is not None
        and portfolio.library_id != collection.library_id
    )
    if differs and not confirm:
        raise Conflict(ATTACH_WARNING, "ATTACH_CONFIRM")
    actor = identity.actor
    if collection.library_id is not None and portfolio.library_id is not None:
        _record(session, PORTFOLIO, portfolio, "library", _code_of(portfolio.library), None, actor)
        portfolio.library_id = None
        portfolio.library = None
    _record(session, PORTFOLIO, portfolio, "electronic_collection", None, collection.public_name, actor)
    portfolio.collection_id = collection.id
    portfolio.service_id = service.id
    portfolio.collection = collection
    portfolio.updated_at = utcnow()
    session.flush()
    return portfolio


def attach_warning(portfolio: Portfolio, collection: ElectronicCollection) -> str | None:
    """The ER-9 warning the chooser shows for this collection, or None."""
    if portfolio.library_id is not None and collection.library_id not in (None, portfolio.library_id):
        return ATTACH_WARNING
    return None


def delete_portfolio(session: Session, identity: Identity, portfolio: Portfolio) -> None:
    """Delete a portfolio (ER-6: the delete rule is checked here, whatever the entry point)."""
    authorize(identity, P.PORTFOLIO_DELETE, scoped(session, portfolio), not_found=portfolio_not_found(portfolio.id))
    _record(session, PORTFOLIO, portfolio, "deleted", portfolio.title, None, identity.actor)
    session.delete(portfolio)
    session.flush()


def portfolios_of(
    session: Session,
    *,
    bib_id: int | None = None,
    service_id: int | None = None,
    library_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Portfolio], int]:
    """The portfolios of a record or a service (exact total: Alma's clients page on it)."""
    condition = []
    if bib_id is not None:
        condition.append(Portfolio.bib_id == bib_id)
    if service_id is not None:
        condition.append(Portfolio.service_id == service_id)
    if library_id is not None:
        condition.append(Portfolio.library_id == library_id)
    total = int(session.scalar(select(func.count()).select_from(Portfolio).where(*condition)) or 0)
    rows = list(session.scalars(select(Portfolio).where(*condition).order_by(Portfolio.id).limit(limit).offset(offset)))
    return rows, total


# --- history and access checks (P-6, P-9) -----------------------------------------------------


def collection_history(session: Session, identity: Identity, cid: str) -> int:
    return access_collection(session, identity, cid).institution_id


def portfolio_history(session: Session, identity: Identity, pid: str) -> int:
    return access_portfolio(session, identity, pid).institution_id


def access_scoped_collection(session: Session, identity: Identity, cid: str) -> Scoped:
    """A collection as the access check sees it (its effective library)."""
    return scoped(session, access_collection(session, identity, cid))


def access_scoped_portfolio(session: Session, identity: Identity, pid: str) -> Scoped:
    """A portfolio as the access check sees it (its effective library)."""
    return scoped(session, access_portfolio(session, identity, pid))
