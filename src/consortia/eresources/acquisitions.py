"""Purchase order lines with their ordered electronic items (ER-18) and licences' inventory (ER-19).

An ordered item (a portfolio or a collection) can be edited only when the scope rule lets the caller edit
its resource (`P.PO_LINE_ITEM_EDIT`, granted in `eresources.policy` with the edit rule); a licence's
inventory is every collection and portfolio carrying its code, each with the mode its editor opens in
(`scope.editor_mode`: EDIT in scope, VIEW otherwise). Unknown ids and another institution's answer the same
404 (R-3). Changes write history (`po_line_item`) in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize, demand
from consortia.audit.service import record
from consortia.eresources import policy as scope
from consortia.eresources.models import ElectronicCollection, Portfolio
from consortia.eresources.policy import Scoped
from consortia.eresources.service import check_version, scoped
from consortia.eresources.task_models import License, PoLine, PoLineItem
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import Institution

PO_LINE_ITEM = "po_line_item"
MAX_ID = 2**31 - 1


def po_line_not_found(pid: Any) -> NotFound:
    return NotFound(f"The PO line was not found: {pid}.")


def po_line_item_not_found(iid: Any) -> NotFound:
    return NotFound(f"The ordered item was not found: {iid}.")


def license_not_found(code: Any) -> NotFound:
    return NotFound(f"The licence was not found: {code}.")


def _id(value: Any) -> int | None:
    text = str(value).strip()
    if not text.isdecimal() or len(text) > 10 or not 1 <= int(text) <= MAX_ID:
        return None
    return int(text)


def _visible(identity: Identity, institution_id: int) -> bool:
    if identity.is_operator:
        return identity.acting_institution_id in (None, institution_id)
    return identity.institution_id == institution_id


# --- PO lines (ER-18) -------------------------------------------------------------------------


@dataclass
class ItemRow:
    item: PoLineItem
    scoped: Scoped
    actions: list[str]  # ["edit"] in scope, [] otherwise


def access_po_line(session: Session, identity: Identity, pid: Any) -> PoLine:
    number = _id(pid)
    line = session.get(PoLine, number) if number is not None else None
    if line is None or not _visible(identity, line.institution_id):
        raise po_line_not_found(pid)
    authorize(identity, P.ERESOURCE_READ, InInstitution(line.institution_id), not_found=po_line_not_found(pid))
    return line


def po_line_items(session: Session, identity: Identity, line: PoLine) -> list[ItemRow]:
    rows = []
    for item in line.items:
        target = scoped(session, item.resource)
        rows.append(ItemRow(item, target, scope.po_line_item_actions(identity, target)))
    return rows


def po_lines(session: Session, identity: Identity, institution: Institution) -> list[PoLine]:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    return list(session.scalars(select(PoLine).where(PoLine.institution_id == institution.id).order_by(PoLine.id)))


def access_po_line_item(
    session: Session, identity: Identity, line: PoLine, iid: Any, permission: P = P.ERESOURCE_READ
) -> PoLineItem:
    number = _id(iid)
    item = session.get(PoLineItem, number) if number is not None else None
    if item is None or item.po_line_id != line.id:
        raise po_line_item_not_found(iid)
    authorize(identity, permission, scoped(session, item.resource), not_found=po_line_item_not_found(iid))
    return item


@dataclass
class ItemChange:
    coverage: str | None = None
    note: str | None = None
    activation_note: str | None = None
    version: int | None = None


def update_po_line_item(session: Session, identity: Identity, item: PoLineItem, change: ItemChange) -> None:
    """Change an ordered item (the caller was authorized for PO_LINE_ITEM_EDIT on its resource)."""
    check_version(item, change.version, "ordered item")
    for field, value in (
        ("coverage", change.coverage),
        ("note", change.note),
        ("activation_note", change.activation_note),
    ):
        if value is not None and getattr(item, field) != value:
            record(
                session,
                entity=PO_LINE_ITEM,
                entity_id=item.id,
                field=field,
                old=getattr(item, field),
                new=value,
                actor=identity.actor,
                institution_id=item.institution_id,
            )
            setattr(item, field, value)
    session.flush()


def create_po_line(
    session: Session,
    identity: Identity,
    institution: Institution,
    *,
    number: str,
    vendor: str = "",
    description: str = "",
    resources: Sequence[Portfolio | ElectronicCollection] = (),
) -> PoLine:
    """A PO line ordering `resources` of the institution (by those who may create electronic resources)."""
    demand(identity, P.COLLECTION_CREATE, InInstitution(institution.id))
    if not number.strip():
        raise BadRequest("number: the PO line number is missing.")
    line = PoLine(institution_id=institution.id, number=number.strip(), vendor=vendor, description=description)
    for resource in resources:
        if resource.institution_id != institution.id:
            raise BadRequest(f"items: resource {resource.id} is not of {institution.code}.")
        line.items.append(
            PoLineItem(
                institution_id=institution.id,
                portfolio_id=resource.id if isinstance(resource, Portfolio) else None,
                collection_id=resource.id if isinstance(resource, ElectronicCollection) else None,
                coverage=getattr(resource, "coverage", "") or "",
            )
        )
    session.add(line)
    session.flush()
    record(
        session,
        entity="po_line",
        entity_id=line.id,
        field="created",
        old=None,
        new=line.number,
        actor=identity.actor,
        institution_id=institution.id,
    )
    return line


# --- licences (ER-19) -------------------------------------------------------------------------


@dataclass
class InventoryRow:
    resource: Portfolio | ElectronicCollection
    scoped: Scoped
    mode: str  # EDIT or VIEW: how the resource's editor opens for the caller


def licenses(session: Session, identity: Identity, institution: Institution) -> list[License]:
    demand(identity, P.ERESOURCE_READ, InInstitution(institution.id))
    return list(session.scalars(select(License).where(License.institution_id == institution.id).order_by(License.code)))


def access_license(session: Session, identity: Identity, institution: Institution, code: str) -> License:
    wanted = code.strip().upper()
    found = (
        session.scalars(select(License).where(License.institution_id == institution.id, License.code == wanted)).first()
        if wanted and len(wanted) <= 60
        else None
    )
    if found is None:
        raise license_not_found(code)
    authorize(identity, P.ERESOURCE_READ, InInstitution(found.institution_id), not_found=license_not_found(code))
    return found


def license_inventory(
    session: Session, identity: Identity, license: License, *, limit: int = 50, offset: int = 0
) -> tuple[list[InventoryRow], int]:
    """The licence's collections (first) and portfolios, each with the mode of its editor."""
    collections = [
        ElectronicCollection.institution_id == license.institution_id,
        ElectronicCollection.license == license.code,
    ]
    portfolios = [Portfolio.institution_id == license.institution_id, Portfolio.license == license.code]
    n_collections = int(session.scalar(select(func.count()).select_from(ElectronicCollection).where(*collections)) or 0)
    n_portfolios = int(session.scalar(select(func.count()).select_from(Portfolio).where(*portfolios)) or 0)
    found: list[Any] = []
    if offset < n_collections:
        found += session.scalars(
            select(ElectronicCollection)
            .where(*collections)
            .order_by(ElectronicCollection.id)
            .limit(limit)
            .offset(offset)
        ).unique()
    rest = limit - len(found)
    if rest > 0:
        found += session.scalars(
            select(Portfolio)
            .where(*portfolios)
            .order_by(Portfolio.id)
            .limit(rest)
            .offset(max(0, offset - n_collections))
        ).unique()
    rows = []
    for resource in found:
        target = scoped(session, resource)
        rows.append(InventoryRow(resource, target, scope.editor_mode(identity, target)))
    return rows, n_collections + n_portfolios


def create_license(session: Session, identity: Identity, institution: Institution, code: str, name: str) -> License:
    demand(identity, P.COLLECTION_CREATE, InInstitution(institution.id))
    found = License(institution_id=institution.id, code=code.strip().upper(), name=name)
    session.add(found)
    session.flush()
    return found


def po_line_item_history(session: Session, identity: Identity, iid: str) -> int:
    number = _id(iid)
    item = session.get(PoLineItem, number) if number is not None else None
    if item is None:
        raise po_line_item_not_found(iid)
    line = access_po_line(session, identity, item.po_line_id)
    return access_po_line_item(session, identity, line, iid).institution_id
