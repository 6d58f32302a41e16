"""Builders of test data, straight into the test's session (no permission checks: this is set-up)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from consortia.audit.models import SYSTEM
from consortia.platform.auth import create_api_key, hash_password
from consortia.platform.models import (
    CodeTableRow,
    Consortium,
    FulfillmentNetwork,
    Institution,
    InstitutionEmailDomain,
    Library,
    User,
    UserIdentifier,
    UserRole,
)

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
_PASSWORD_HASH: str | None = None


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def consortium(self, code: str | None = None, name: str | None = None, **kw: Any) -> Consortium:
        n = next(_seq)
        row = Consortium(code=code or f"CONS{n}", name=name or f"Consortium {n}", **kw)
        self.session.add(row)
        self.session.flush()
        return row

    def institution(
        self,
        code: str | None = None,
        consortium: Consortium | None = None,
        libraries: int = 2,
        name: str | None = None,
        domains: tuple[str, ...] = (),
    ) -> Institution:
        n = next(_seq)
        code = code or f"INST{n}"
        row = Institution(
            code=code,
            name=name or f"Institution {code}",
            consortium_id=consortium.id if consortium else None,
            registration_token=f"reg-{code}",
        )
        self.session.add(row)
        self.session.flush()
        for i in range(libraries):
            self.session.add(Library(institution_id=row.id, code=f"{code}_L{i + 1}", name=f"{code} Library {i + 1}"))
        for domain in domains:
            self.session.add(InstitutionEmailDomain(institution_id=row.id, domain=domain))
        for table, code_, desc in (
            ("UserGroups", "STAFF", "Staff"),
            ("UserGroups", "UNDERGRAD", "Undergraduate"),
            ("UserGroups", "WALKIN", "Walk-in"),
            ("UserIdentifierTypes", "BARCODE", "Barcode"),
            ("UserIdentifierTypes", "UNIV_ID", "University ID"),
        ):
            self.session.add(CodeTableRow(institution_id=row.id, table_name=table, code=code_, description=desc))
        self.session.flush()
        self.session.refresh(row)
        return row

    def library(self, institution: Institution, code: str | None = None) -> Library:
        row = Library(
            institution_id=institution.id, code=code or f"{institution.code}_X{next(_seq)}", name="Extra library"
        )
        self.session.add(row)
        self.session.flush()
        return row

    def network(self, *members: Institution, code: str | None = None) -> FulfillmentNetwork:
        row = FulfillmentNetwork(code=code or f"FN{next(_seq)}", name="Network")
        row.members = list(members)
        self.session.add(row)
        self.session.flush()
        return row

    def user(
        self,
        institution: Institution | None,
        primary_id: str | None = None,
        *,
        roles: tuple[str | tuple[str, Library | None], ...] = (),
        record_type: str = "STAFF",
        operator: bool = False,
        password: bool = True,
        identifiers: tuple[tuple[str, str], ...] = (),
        **fields: Any,
    ) -> User:
        n = next(_seq)
        primary_id = primary_id or f"user{n}"
        user = User(
            institution_id=institution.id if institution else None,
            is_operator=operator,
            primary_id=primary_id,
            primary_id_key=primary_id.lower(),
            record_type=record_type,
            first_name=fields.pop("first_name", "Test"),
            last_name=fields.pop("last_name", f"User{n}"),
            password_hash=_password_hash() if password else None,
            **fields,
        )
        self.session.add(user)
        self.session.flush()
        for role in roles:
            role_type, library = (role, None) if isinstance(role, str) else role
            self.session.add(UserRole(user_id=user.id, role_type=role_type, library_id=library.id if library else None))
        for id_type, value in identifiers:
            self.session.add(
                UserIdentifier(
                    user_id=user.id,
                    institution_id=user.institution_id,
                    id_type=id_type,
                    value=value,
                    value_key=value.lower(),
                )
            )
        self.session.flush()
        self.session.refresh(user)
        return user

    def operator(self, primary_id: str | None = None) -> User:
        return self.user(None, primary_id or f"operator{next(_seq)}", operator=True)

    def key(self, user: User) -> dict[str, str]:
        """Headers that authenticate as `user`."""
        _row, secret = create_api_key(self.session, user, actor=SYSTEM)
        self.session.flush()
        return {"Authorization": f"apikey {secret}"}


def days(n: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=n)
