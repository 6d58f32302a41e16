"""Creating the operator account (`consortia init`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import hash_secret
from consortia.audit.models import SYSTEM
from consortia.platform.auth import create_api_key, hash_password
from consortia.platform.models import ApiKey, User

OPERATOR_ID = "operator"


@dataclass(frozen=True)
class OperatorSetup:
    created: bool
    generated_key: str | None
    generated_password: str | None


def ensure_operator(session: Session, *, api_key: str | None, password: str | None) -> OperatorSetup:
    """The operator account exists; `api_key` is one of its keys; a first run generates what is missing."""
    operator = session.scalars(
        select(User).where(User.is_operator.is_(True), User.primary_id_key == OPERATOR_ID)
    ).first()
    created = operator is None
    generated_password = None
    if operator is None:
        if password is None:
            password = generated_password = secrets.token_urlsafe(12)
        operator = User(
            institution_id=None,
            is_operator=True,
            primary_id=OPERATOR_ID,
            primary_id_key=OPERATOR_ID,
            record_type="STAFF",
            first_name="Operator",
            last_name="Support",
            support_level="NONE",
            password_hash=hash_password(password),
        )
        session.add(operator)
        session.flush()
    elif password is not None:
        operator.password_hash = hash_password(password)
    generated_key = None
    if api_key is not None:
        exists = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_secret(api_key)))
        if exists is None:
            session.add(
                ApiKey(
                    user_id=operator.id,
                    key_hash=hash_secret(api_key),
                    prefix=api_key[:10],
                    label="consortia init",
                )
            )
    elif created:
        _row, generated_key = create_api_key(session, operator, actor=SYSTEM, label="consortia init")
    return OperatorSetup(created, generated_key, generated_password)
