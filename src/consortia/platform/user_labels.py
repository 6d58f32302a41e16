"""Labels for answers about a user: the institution, names of codes, the source of a linked account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.platform import codetables
from consortia.platform.models import Institution, User
from consortia.platform.user_roles import institution_of


@dataclass(frozen=True)
class UserLabels:
    """What an answer about a user needs beyond the user: names of codes, scope and source."""

    institution_code: str
    institution_name: str
    groups: dict[str, str]
    id_types: dict[str, str]
    role_types: dict[str, str]
    source_institution_code: str | None = None
    source_user_id: str | None = None
    linked_rule_name: str | None = None
    rs_library_code: str | None = None  # a linked account's resource sharing library (CN-9)
    rs_library_name: str | None = None


def user_labels(session: Session, user: User) -> UserLabels:
    institution = institution_of(session, user)
    source_code = source_user = None
    if user.source_institution_id is not None:
        source = session.get(Institution, user.source_institution_id)
        source_code = source.code if source is not None else None
    if user.source_user_id is not None:
        source_user = session.scalar(select(User.primary_id).where(User.id == user.source_user_id))
    tables = codetables.all_descriptions(session, institution.id)
    return UserLabels(
        institution_code=institution.code,
        institution_name=institution.name,
        groups=tables.get(codetables.USER_GROUPS, {}),
        id_types=tables.get(codetables.USER_IDENTIFIER_TYPES, {}),
        role_types=tables[codetables.USER_ROLES],
        source_institution_code=source_code,
        source_user_id=source_user,
        rs_library_code=user.rs_library.code if user.rs_library is not None else None,
        rs_library_name=user.rs_library.name if user.rs_library is not None else None,
    )
