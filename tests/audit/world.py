"""A small platform for tenancy tests: two consortia, three institutions, two fulfillment networks,
the operator and staff of several roles in two institutions of different consortia.

    NLC (Northern Libraries Consortium): EAST (east.example.edu), NORTH
    SLC (Southern Libraries Consortium): WEST
    networks: FN_EW = EAST + WEST, FN_W = WEST + NORTH
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from consortia.access import roles as R
from consortia.platform.models import Consortium, FulfillmentNetwork, Institution, User
from tests.factories import Factory


@dataclass
class World:
    factory: Factory
    nlc: Consortium
    slc: Consortium
    east: Institution
    north: Institution
    west: Institution
    fn_ew: FulfillmentNetwork
    fn_w: FulfillmentNetwork
    users: dict[str, User]
    _keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """API-key headers of one of the users (`operator`, `east_gsa`, `east_ua`, `east_staff`, ...)."""
        if who not in self._keys:
            self._keys[who] = self.factory.key(self.users[who])
            self.factory.session.commit()
        return self._keys[who]


def build_world(factory: Factory) -> World:
    nlc = factory.consortium("NLC", "Northern Libraries Consortium")
    slc = factory.consortium("SLC", "Southern Libraries Consortium")
    east = factory.institution("EAST", nlc, name="Eastern State University", domains=("east.example.edu",))
    north = factory.institution("NORTH", nlc, name="Northern College")
    west = factory.institution("WEST", slc, name="Western University")
    fn_ew = factory.network(east, west, code="FN_EW")
    fn_w = factory.network(west, north, code="FN_W")
    users = {
        "operator": factory.operator("op-anna"),
        "east_gsa": factory.user(east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)),
        "east_ua": factory.user(east, "east-ua", roles=(R.USER_ADMINISTRATOR,)),
        "east_staff": factory.user(east, "east-staff", roles=(R.CIRCULATION_DESK_OPERATOR,)),
        "east_patron": factory.user(east, "east-patron", roles=(R.PATRON,), record_type="PUBLIC"),
        "west_gsa": factory.user(west, "west-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)),
        "west_staff": factory.user(west, "west-staff", roles=(R.CIRCULATION_DESK_OPERATOR,)),
    }
    # Committed (a savepoint of the test's transaction), so that a request that fails and rolls back
    # keeps the set-up.
    factory.session.commit()
    return World(factory, nlc, slc, east, north, west, fn_ew, fn_w, users)


def error_of(response: Any) -> dict[str, Any]:
    """The one error of an error body (asserting the shape of API.md convention 3)."""
    body = response.json()
    assert body["errorsExist"] is True
    assert body["result"] is None
    errors = body["errorList"]["error"]
    assert len(errors) == 1
    return dict(errors[0])


def assert_same_denial(client: TestClient, headers: dict[str, str], path: str, hidden: str) -> None:
    """`path` (with `{}` for a code) answers for the hidden code exactly as for an unknown one (P-8, R-3)."""
    seen = client.get(path.format(hidden), headers=headers)
    missing = client.get(path.format("NOPE"), headers=headers)
    assert seen.status_code == missing.status_code == 404, (seen.text, missing.text)
    a, b = error_of(seen), error_of(missing)
    assert a["errorCode"] == b["errorCode"]
    assert a["errorMessage"].replace(hidden, "<code>") == b["errorMessage"].replace("NOPE", "<code>")
