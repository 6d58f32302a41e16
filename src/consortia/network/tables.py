"""The three tables an institution keeps about its networks (CN-4 .. CN-6), each replaced as a whole
by its administrators, with one history row per row added, changed or removed (entity
`network_table`, id the table's name).

- Restricted user groups: codes of the institution's UserGroups table.
- Shared fields: every field of `SHARED_FIELDS` is shared unless set otherwise; a change names the
  fields it sets and leaves the others as they are.
- Searchable identifiers: codes of the institution's UserIdentifierTypes table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize
from consortia.audit.service import record
from consortia.errors import BadRequest, NotFound
from consortia.network.models import (
    SHARED_FIELDS,
    NetworkCodeRow,
    RestrictedUserGroup,
    SearchableIdentifier,
    SharedField,
)
from consortia.network.schemas import CodeRowIn, SharedFieldIn
from consortia.platform import codetables
from consortia.platform.models import Institution

RESTRICTED_USER_GROUPS = "restricted-user-groups"
SHARED_FIELDS_TABLE = "shared-fields"
SEARCHABLE_IDENTIFIERS = "searchable-identifiers"
TABLES = (RESTRICTED_USER_GROUPS, SHARED_FIELDS_TABLE, SEARCHABLE_IDENTIFIERS)


@dataclass(frozen=True)
class CodeRow:
    code: str
    description: str
    label: str | None  # the code's description in the institution's code table


def access_tables(session: Session, identity: Identity, permission: P = P.NETWORK_CONFIG_READ) -> Institution:
    institution = acting_institution(session, identity)
    authorize(
        identity,
        permission,
        InInstitution(institution.id),
        not_found=NotFound("The collaborative network tables were not found.", "402119"),
    )
    return institution


def _note(
    session: Session, identity: Identity, institution: Institution, table: str, old: str | None, new: str | None
) -> None:
    record(
        session,
        entity="network_table",
        entity_id=table,
        field="row",
        old=old,
        new=new,
        actor=identity.actor,
        institution_id=institution.id,
    )


def _row_text(code: str, description: str) -> str:
    return f"{code} ({description})" if description else code


def _replace_codes(
    session: Session,
    identity: Identity,
    institution: Institution,
    table: str,
    model: type[NetworkCodeRow],
    code_table: str,
    rows: list[CodeRowIn],
) -> None:
    allowed = codetables.descriptions(session, institution.id, code_table)
    wanted: dict[str, str] = {}
    for index, row in enumerate(rows):
        code = row.code.strip().upper()
        if code not in allowed:
            raise BadRequest(f"row[{index}].code: {code} is not a code of the {code_table} table.", "40166411")
        if code in wanted:
            raise BadRequest(f"row[{index}].code: {code} is listed twice.", "40166411")
        wanted[code] = row.description.strip()
    current = {r.code: r for r in session.scalars(select(model).where(model.institution_id == institution.id))}
    for code, existing in current.items():
        if code not in wanted:
            _note(session, identity, institution, table, _row_text(code, existing.description), None)
            session.delete(existing)
        elif existing.description != wanted[code]:
            _note(
                session,
                identity,
                institution,
                table,
                _row_text(code, existing.description),
                _row_text(code, wanted[code]),
            )
            existing.description = wanted[code]
    for code, description in wanted.items():
        if code not in current:
            session.add(model(institution_id=institution.id, code=code, description=description))
            _note(session, identity, institution, table, None, _row_text(code, description))
    session.flush()


def _code_rows(
    session: Session,
    institution: Institution,
    model: type[NetworkCodeRow],
    code_table: str,
) -> list[CodeRow]:
    labels = codetables.descriptions(session, institution.id, code_table)
    rows = session.scalars(select(model).where(model.institution_id == institution.id).order_by(model.code))
    return [CodeRow(row.code, row.description, labels.get(row.code)) for row in rows]


def restricted_groups(session: Session, institution: Institution) -> list[CodeRow]:
    return _code_rows(session, institution, RestrictedUserGroup, codetables.USER_GROUPS)


def set_restricted_groups(session: Session, identity: Identity, rows: list[CodeRowIn]) -> list[CodeRow]:
    institution = access_tables(session, identity, P.NETWORK_CONFIG_EDIT)
    _replace_codes(
        session, identity, institution, RESTRICTED_USER_GROUPS, RestrictedUserGroup, codetables.USER_GROUPS, rows
    )
    return restricted_groups(session, institution)


def searchable_identifiers(session: Session, institution: Institution) -> list[CodeRow]:
    return _code_rows(session, institution, SearchableIdentifier, codetables.USER_IDENTIFIER_TYPES)


def set_searchable_identifiers(session: Session, identity: Identity, rows: list[CodeRowIn]) -> list[CodeRow]:
    institution = access_tables(session, identity, P.NETWORK_CONFIG_EDIT)
    _replace_codes(
        session,
        identity,
        institution,
        SEARCHABLE_IDENTIFIERS,
        SearchableIdentifier,
        codetables.USER_IDENTIFIER_TYPES,
        rows,
    )
    return searchable_identifiers(session, institution)


def shared_fields(session: Session, institution_id: int) -> dict[str, bool]:
    """Every shareable field with whether it is shared (a field without a row is)."""
    stored = {
        row.field: row.shared
        for row in session.scalars(select(SharedField).where(SharedField.institution_id == institution_id))
    }
    return {field: stored.get(field, True) for field in SHARED_FIELDS}


def set_shared_fields(session: Session, identity: Identity, rows: list[SharedFieldIn]) -> dict[str, bool]:
    institution = access_tables(session, identity, P.NETWORK_CONFIG_EDIT)
    wanted: dict[str, bool] = {}
    for index, row in enumerate(rows):
        if row.field not in SHARED_FIELDS:
            raise BadRequest(
                f"row[{index}].field: {row.field} is not a shareable field; use one of {', '.join(SHARED_FIELDS)}.",
                "40166411",
            )
        wanted[row.field] = row.shared
    before = shared_fields(session, institution.id)
    for field, shared in wanted.items():
        if before[field] == shared:
            continue
        session.execute(
            delete(SharedField).where(SharedField.institution_id == institution.id, SharedField.field == field)
        )
        session.add(SharedField(institution_id=institution.id, field=field, shared=shared))
        _note(
            session,
            identity,
            institution,
            SHARED_FIELDS_TABLE,
            f"{field}: {'shared' if before[field] else 'not shared'}",
            f"{field}: {'shared' if shared else 'not shared'}",
        )
    session.flush()
    return shared_fields(session, institution.id)
