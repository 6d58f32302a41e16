"""An institution's user code tables: user groups, identifier types and user roles (P-3, P-4).

Each table is a list of rows `{code, description, default, enabled}` per institution. `UserGroups`
and `UserIdentifierTypes` are the institution's own lists; `UserRoles` is the fixed list of role types
(SPEC P-4) whose description and enabled flag an institution may change, but whose codes it may
neither add to nor remove. Every change writes history (entity `code_table`, id the table name).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize
from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.errors import BadRequest, NotFound
from consortia.platform.models import CodeTableRow, Institution, User, UserIdentifier
from consortia.text import has_control_characters

USER_GROUPS = "UserGroups"
USER_IDENTIFIER_TYPES = "UserIdentifierTypes"
USER_ROLES = "UserRoles"

TABLES: dict[str, str] = {
    USER_GROUPS: "User groups",
    USER_IDENTIFIER_TYPES: "User identifier types",
    USER_ROLES: "User roles",
}

# What a new institution starts with, so that users can be created at once; its administrators change
# the tables afterwards (PUT or the Code tables page). Code, description; the first code named is the default.
STARTER_TABLES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    USER_GROUPS: (
        "UNDERGRAD",
        (
            ("STAFF", "Staff"),
            ("FACULTY", "Faculty"),
            ("GRAD", "Graduate student"),
            ("UNDERGRAD", "Undergraduate student"),
            ("WALKIN", "Walk-in patron"),
            ("GUEST", "Guest"),
        ),
    ),
    USER_IDENTIFIER_TYPES: (
        "BARCODE",
        (("BARCODE", "Barcode"), ("UNIV_ID", "University ID"), ("CONSORTIAL_ID", "Consortial ID")),
    ),
}

MAX_CODE_LENGTH = 60
MAX_DESCRIPTION_LENGTH = 200


@dataclass(frozen=True)
class CodeRow:
    code: str
    description: str
    default: bool = False
    enabled: bool = True


def starter_rows(institution_id: int) -> list[dict[str, object]]:
    """The rows of `STARTER_TABLES` for one institution, ready for a set-based insert."""
    return [
        {
            "institution_id": institution_id,
            "table_name": table,
            "code": code,
            "description": description,
            "is_default": code == default,
            "enabled": True,
            "position": position,
        }
        for table, (default, rows) in STARTER_TABLES.items()
        for position, (code, description) in enumerate(rows)
    ]


def seed_code_tables(session: Session, actor: Actor, institution_id: int) -> None:
    """Give a new institution the starter tables, with one history row per code."""
    rows = starter_rows(institution_id)
    session.execute(insert(CodeTableRow), rows)
    for row in rows:
        new = CodeRow(str(row["code"]), str(row["description"]), bool(row["is_default"]))
        record(
            session,
            entity="code_table",
            entity_id=str(row["table_name"]),
            field=new.code,
            old=None,
            new=_row_text(new),
            actor=actor,
            institution_id=institution_id,
        )


def table_not_found(name: str) -> BadRequest:
    return BadRequest(f"Table does not exist. ({name})", "90101")


def check_table_name(name: str) -> str:
    """The table's canonical name; an unknown table is a 400 with Alma's 90101."""
    if name not in TABLES:
        raise table_not_found(name)
    return name


def access_code_table(identity: Identity, institution: Institution, permission: P) -> None:
    """The caller may read (or, with `code-table:edit`, change) the code tables of `institution`."""
    authorize(
        identity,
        permission,
        InInstitution(institution.id),
        not_found=NotFound("Institution not found.", "60224"),
    )


def _stored(session: Session, institution_id: int, name: str) -> list[CodeTableRow]:
    return list(
        session.scalars(
            select(CodeTableRow)
            .where(CodeTableRow.institution_id == institution_id, CodeTableRow.table_name == name)
            .order_by(CodeTableRow.position, CodeTableRow.code)
        )
    )


def code_table(session: Session, institution_id: int, name: str) -> list[CodeRow]:
    """The rows of one table, in their order; `UserRoles` always lists every role type."""
    name = check_table_name(name)
    stored = _stored(session, institution_id, name)
    if name != USER_ROLES:
        return [CodeRow(r.code, r.description, r.is_default, r.enabled) for r in stored]
    overrides = {r.code: r for r in stored}
    rows = []
    for code, label in R.ROLE_TYPES.items():
        row = overrides.get(code)
        rows.append(
            CodeRow(code, label, False, True)
            if row is None
            else CodeRow(code, row.description or label, row.is_default, row.enabled)
        )
    return rows


def descriptions(session: Session, institution_id: int, name: str) -> dict[str, str]:
    return {row.code: row.description for row in code_table(session, institution_id, name)}


def all_descriptions(session: Session, institution_id: int) -> dict[str, dict[str, str]]:
    """Code -> description of every table of an institution, in one query (used on every user answer)."""
    tables: dict[str, dict[str, str]] = {USER_ROLES: dict(R.ROLE_TYPES)}
    rows = session.execute(
        select(CodeTableRow.table_name, CodeTableRow.code, CodeTableRow.description)
        .where(CodeTableRow.institution_id == institution_id)
        .order_by(CodeTableRow.table_name, CodeTableRow.position, CodeTableRow.code)
    )
    for table, code, description in rows:
        if table == USER_ROLES:
            tables[USER_ROLES][code] = description or R.ROLE_TYPES.get(code, code)
        else:
            tables.setdefault(table, {})[code] = description
    return tables


def enabled_codes(session: Session, institution_id: int, name: str) -> set[str]:
    return {row.code for row in code_table(session, institution_id, name) if row.enabled}


def _row_text(row: CodeRow | None) -> str | None:
    if row is None:
        return None
    flags = ["enabled" if row.enabled else "disabled"]
    if row.default:
        flags.append("default")
    return f"{row.description} ({', '.join(flags)})"


def _validate(name: str, rows: Sequence[CodeRow]) -> list[CodeRow]:
    problems: list[str] = []
    clean: list[CodeRow] = []
    seen: set[str] = set()
    for row in rows:
        code = row.code.strip()
        if not code:
            problems.append("Every row needs a code.")
            continue
        if len(code) > MAX_CODE_LENGTH:
            problems.append(f"Code {code[:20]}… is longer than {MAX_CODE_LENGTH} characters.")
        if len(row.description) > MAX_DESCRIPTION_LENGTH:
            problems.append(f"The description of {code} is longer than {MAX_DESCRIPTION_LENGTH} characters.")
        if has_control_characters(code + row.description):
            problems.append(f"Row {code!r} holds control characters.")
        if code in seen:
            problems.append(f"Code {code} is given twice.")
        if name == USER_ROLES and code not in R.ROLE_TYPES:
            problems.append(f"{code} is not a role type; the UserRoles table cannot be given new codes.")
        seen.add(code)
        clean.append(CodeRow(code, row.description.strip(), row.default, row.enabled))
    if sum(1 for row in clean if row.default) > 1:
        problems.append("At most one row may be the default.")
    if problems:
        raise BadRequest(" ".join(problems), "40166411")
    return clean


def _codes_in_use(session: Session, institution_id: int, name: str, codes: set[str]) -> dict[str, int]:
    if not codes or name == USER_ROLES:
        return {}
    if name == USER_GROUPS:
        query = select(User.user_group, func.count()).where(
            User.institution_id == institution_id, User.user_group.in_(codes)
        )
        found = session.execute(query.group_by(User.user_group)).all()
    else:
        query = select(UserIdentifier.id_type, func.count()).where(
            UserIdentifier.institution_id == institution_id, UserIdentifier.id_type.in_(codes)
        )
        found = session.execute(query.group_by(UserIdentifier.id_type)).all()
    return {code: int(count) for code, count in found}


def set_code_table(
    session: Session, identity: Identity, institution: Institution, name: str, rows: Sequence[CodeRow]
) -> list[CodeRow]:
    """Replace the rows of a table (for `UserRoles`: change descriptions and enabled flags only).

    Rows left out are removed, except that codes still used by users (a user group, an identifier
    type) are refused, and left-out role types keep their current row. Writes one history row per
    added, changed or removed row.
    """
    name = check_table_name(name)
    access_code_table(identity, institution, P.CODE_TABLE_EDIT)
    wanted = _validate(name, rows)
    before = {row.code: row for row in code_table(session, institution.id, name)}
    wanted_codes = {row.code for row in wanted}
    if name == USER_ROLES:
        wanted = wanted + [row for code, row in before.items() if code not in wanted_codes]
        order = list(R.ROLE_TYPES)
        wanted.sort(key=lambda row: order.index(row.code))
    removed = {code for code in before if code not in wanted_codes} if name != USER_ROLES else set()
    in_use = _codes_in_use(session, institution.id, name, removed)
    if in_use:
        refusals = [
            f"{code} is still used by {count} record(s) and cannot be removed." for code, count in in_use.items()
        ]
        raise BadRequest(" ".join([*refusals, "Disable the row instead."]), "40166411")
    session.execute(
        delete(CodeTableRow).where(CodeTableRow.institution_id == institution.id, CodeTableRow.table_name == name)
    )
    for position, row in enumerate(wanted):
        session.add(
            CodeTableRow(
                institution_id=institution.id,
                table_name=name,
                code=row.code,
                description=row.description,
                is_default=row.default,
                enabled=row.enabled,
                position=position,
            )
        )
        record(
            session,
            entity="code_table",
            entity_id=name,
            field=row.code,
            old=_row_text(before.get(row.code)),
            new=_row_text(row),
            actor=identity.actor,
            institution_id=institution.id,
        )
    for code in sorted(removed):
        record(
            session,
            entity="code_table",
            entity_id=name,
            field=code,
            old=_row_text(before[code]),
            new=None,
            actor=identity.actor,
            institution_id=institution.id,
        )
    session.flush()
    return code_table(session, institution.id, name)
