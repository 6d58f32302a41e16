"""Set-up shared by the users tests (this module holds no tests).

Two institutions of one consortium, each with libraries `<CODE>_L1` and `<CODE>_L2`:

    EAST: east-gsa (General System Administrator), east-ua (User Administrator),
          east-cdo (Circulation Desk Operator), east-staff (staff, no role),
          east-pat (patron "Mary Ann Smith", UNDERGRAD, BARCODE B-100, UNIV_ID U-100),
          east-pat2 (patron "John Smithers")
    WEST: west-ua (User Administrator), west-pat (patron)
    the operator (acting in EAST through ?institution=EAST)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from consortia.access import roles as R
from consortia.platform.models import Institution, User
from tests.factories import Factory

ROLES_OF = {
    "operator": "the operator",
    "east_gsa": "General System Administrator",
    "east_ua": "User Administrator",
    "east_cdo": "Circulation Desk Operator",
    "east_staff": "plain staff",
    "west_ua": "User Administrator of WEST",
}


@dataclass
class Who:
    user: User
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class UsersWorld:
    factory: Factory
    east: Institution
    west: Institution
    people: dict[str, Who]

    def __getitem__(self, name: str) -> Who:
        return self.people[name]

    def call(
        self, client: TestClient, who: str, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> httpx2.Response:
        """A request as `who` (with the operator's ?institution=), extra query `params` added."""
        person = self.people[who]
        headers = {**person.headers, **kw.pop("headers", {})}
        return client.request(method, path, headers=headers, params={**person.params, **(params or {})}, **kw)


def build_users_world(factory: Factory) -> UsersWorld:
    consortium = factory.consortium("UNC", "Union Consortium")
    east = factory.institution("EAST", consortium, name="Eastern State University")
    west = factory.institution("WEST", consortium, name="Western University")
    users = {
        "operator": factory.operator("op-users"),
        "east_gsa": factory.user(east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), last_name="Gsa"),
        "east_ua": factory.user(east, "east-ua", roles=(R.USER_ADMINISTRATOR,), last_name="Ua"),
        "east_cdo": factory.user(east, "east-cdo", roles=(R.CIRCULATION_DESK_OPERATOR,), last_name="Cdo"),
        "east_staff": factory.user(east, "east-staff", last_name="Staff"),
        "east_pat": factory.user(
            east,
            "east-pat",
            record_type="PUBLIC",
            first_name="Mary Ann",
            last_name="Smith",
            user_group="UNDERGRAD",
            email="mary@east.example.edu",
            identifiers=(("BARCODE", "B-100"), ("UNIV_ID", "U-100")),
        ),
        "east_pat2": factory.user(east, "east-pat2", record_type="PUBLIC", first_name="John", last_name="Smithers"),
        "west_ua": factory.user(west, "west-ua", roles=(R.USER_ADMINISTRATOR,), last_name="WestUa"),
        "west_pat": factory.user(west, "west-pat", record_type="PUBLIC", first_name="Wes", last_name="Tern"),
    }
    people = {name: Who(user, factory.key(user)) for name, user in users.items()}
    people["operator"].params = {"institution": "EAST"}
    # Committed (a savepoint of the test's transaction) so that a request that fails and rolls back
    # keeps the set-up.
    factory.session.commit()
    return UsersWorld(factory, east, west, people)


def error_of(response: httpx2.Response) -> dict[str, Any]:
    """The one error of an error body, checking the shape of API.md convention 3."""
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body = response.json()
    assert body["errorsExist"] is True
    assert body["result"] is None
    errors = body["errorList"]["error"]
    assert len(errors) == 1
    assert errors[0]["trackingId"]
    return dict(errors[0])


EAST_USERS = {"east-gsa", "east-ua", "east-cdo", "east-staff", "east-pat", "east-pat2"}
