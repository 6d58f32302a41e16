"""Support Center test set-up: a consortium world, cases straight into the database, page sign-in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.db import utcnow
from consortia.platform.models import Consortium, Institution, User
from consortia.support.models import SHARE_INSTITUTION, ConsortiaLicence, SupportCase
from consortia.support.service import allocate_case_number
from tests.factories import PASSWORD, Factory

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class SupportWorld:
    """NLC (sharing enabled) with EAST and WEST; SOUTH in OTHER (sharing enabled); LONE in no consortium.

    Users: a BASIC, a STANDARD and a CONSORTIA user in EAST and WEST; a CONSORTIA user in SOUTH;
    a STANDARD user in LONE; the operator.
    """

    factory: Factory
    nlc: Consortium
    other: Consortium
    east: Institution
    west: Institution
    south: Institution
    lone: Institution
    east_basic: User
    east_standard: User
    east_consortia: User
    west_basic: User
    west_standard: User
    west_consortia: User
    south_consortia: User
    lone_standard: User
    operator: User

    def case(self, opener: User, **fields: Any) -> SupportCase:
        return make_case(self.factory.session, opener, **fields)

    def key(self, user: User) -> dict[str, str]:
        return key(self.factory, user)


def make_case(
    session: Session,
    opener: User,
    *,
    share_with: str = SHARE_INSTITUTION,
    subject: str = "Loans do not renew",
    status: str = "New",
    priority: str = "Medium",
    issue_type: str = "Technical",
    commit: bool = True,
) -> SupportCase:
    """A case opened by `opener` in their institution, written straight to the database."""
    assert opener.institution_id is not None
    now = utcnow()
    case = SupportCase(
        number=allocate_case_number(session),
        institution_id=opener.institution_id,
        opened_by_id=opener.id,
        subject=subject,
        description="Steps to reproduce: renew a loan.",
        issue_type=issue_type,
        product="Alma",
        priority=priority,
        status=status,
        share_with=share_with,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    if commit:
        session.commit()  # a failed request rolls back its session: keep the set-up out of it
    else:
        session.flush()
    session.refresh(case)
    return case


def support_user(factory: Factory, institution: Institution | None, primary_id: str, level: str) -> User:
    """A staff user with a Support Center level; a CONSORTIA user also holds the licence row."""
    user = factory.user(
        institution,
        primary_id,
        support_level=level,
        email=f"{primary_id}@example.edu",
        first_name=primary_id.split("-")[-1].title(),
        last_name=primary_id.split("-")[0].title(),
    )
    if level == "CONSORTIA" and institution is not None:
        factory.session.add(ConsortiaLicence(institution_id=institution.id, user_id=user.id, granted_by="Operator"))
        factory.session.flush()
    return user


def build_world(factory: Factory, *, sharing: bool = True) -> SupportWorld:
    nlc = factory.consortium(
        "NLC", "Northern Libraries Consortium", parent_account="NLC Parent", case_sharing_enabled=sharing
    )
    other = factory.consortium("OTHER", "Other Consortium", case_sharing_enabled=True)
    east = factory.institution("EAST", nlc, name="Eastern State University", domains=("east.example.edu",))
    west = factory.institution("WEST", nlc, name="Western College")
    south = factory.institution("SOUTH", other, name="Southern University")
    lone = factory.institution("LONE", None, name="Lone Institute")
    return SupportWorld(
        factory=factory,
        nlc=nlc,
        other=other,
        east=east,
        west=west,
        south=south,
        lone=lone,
        east_basic=support_user(factory, east, "east-bob", "BASIC"),
        east_standard=support_user(factory, east, "east-sam", "STANDARD"),
        east_consortia=support_user(factory, east, "east-jane", "CONSORTIA"),
        west_basic=support_user(factory, west, "west-bea", "BASIC"),
        west_standard=support_user(factory, west, "west-sue", "STANDARD"),
        west_consortia=support_user(factory, west, "west-carl", "CONSORTIA"),
        south_consortia=support_user(factory, south, "south-cora", "CONSORTIA"),
        lone_standard=support_user(factory, lone, "lone-liz", "STANDARD"),
        operator=factory.operator("support-operator"),
    )


@pytest.fixture
def world(factory: Factory) -> SupportWorld:
    built = build_world(factory)
    factory.session.commit()
    return built


def key(factory: Factory, user: User) -> dict[str, str]:
    """API-key headers of `user`, committed so that a failing request does not take them away."""
    headers = factory.key(user)
    factory.session.commit()
    return headers


def sign_in(client: TestClient, user: User, institution_code: str | None = None) -> str:
    """Sign in through the login form; answers the session's CSRF token for later forms."""
    page = client.get("/login")
    assert page.status_code == 200
    login_token = CSRF_FIELD.search(page.text)
    assert login_token is not None
    response = client.post(
        "/login",
        data={
            "username": user.primary_id,
            "password": PASSWORD,
            "csrf_token": login_token.group(1),
            "institution": institution_code or "",
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/")
    token = CSRF_FIELD.search(home.text)
    assert token is not None
    return token.group(1)


def error_message(response_json: dict[str, object]) -> str:
    errors = response_json["errorList"]["error"]  # type: ignore[index]
    return str(errors[0]["errorMessage"])  # type: ignore[index]


@pytest.fixture
def session(db: Session) -> Session:
    return db
