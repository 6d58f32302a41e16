"""Denied attempts are logged with actor, action and object (R-7), also when the answer is 404."""

from __future__ import annotations

import logging

import pytest

from consortia.access import roles as R
from consortia.access.identity import Identity, RoleGrant
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize
from consortia.errors import NotFound
from consortia.platform.models import User


def _administrator_of(institution_id: int) -> Identity:
    return Identity(
        user_id=1,
        primary_id="east-users",
        display_name="East Users",
        institution_id=institution_id,
        consortium_id=None,
        is_operator=False,
        roles=frozenset({RoleGrant(R.USER_ADMINISTRATOR, None)}),
        acting_institution_id=institution_id,
    )


def test_a_hidden_object_is_logged_as_a_denial(caplog: pytest.LogCaptureFixture) -> None:
    other_institutions_user = User(id=77, institution_id=2, primary_id="west-patron")
    with caplog.at_level(logging.WARNING, logger="consortia.access"), pytest.raises(NotFound):
        authorize(_administrator_of(1), P.USER_EDIT, other_institutions_user, not_found=NotFound("not found"))
    (message,) = [r.getMessage() for r in caplog.records if r.name == "consortia.access"]
    assert "actor=east-users" in message
    assert "action=user:edit" in message
    assert "object=User#77" in message


def test_a_missing_object_is_not_a_denial(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="consortia.access"), pytest.raises(NotFound):
        authorize(_administrator_of(1), P.USER_EDIT, None, not_found=NotFound("not found"))
    assert not [r for r in caplog.records if r.name == "consortia.access"]


def test_an_allowed_object_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    own_user = User(id=78, institution_id=1, primary_id="east-patron")
    with caplog.at_level(logging.WARNING, logger="consortia.access"):
        authorize(_administrator_of(1), P.USER_EDIT, own_user, not_found=NotFound("not found"))
    assert not [r for r in caplog.records if r.name == "consortia.access"]
