"""Collaborative-network test set-up (this module holds no tests).

EAST, WEST and NORTH share the fulfillment network FN; SOUTH is in none with EAST. Each has libraries
`<CODE>_L1`, `<CODE>_L2` and the factory's code tables plus a GUEST group; EAST's default user group
is WALKIN.

    EAST: east-gsa, east-ua, east-cdo (the desk), east-staff (no role), east-pat (a patron)
    WEST: west-ua; patrons west-pat ("Mary Walker", UNDERGRAD, BARCODE W-1, UNIV_ID WU-1, expires in
          100 days, a network block and a local block), west-guest (GUEST), west-inactive (INACTIVE),
          west-nobar (only a UNIV_ID)
    NORTH: north-ua; north-pat ("Nora Walker", BARCODE N-1)
    SOUTH: south-pat (BARCODE S-1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.platform.models import CodeTableRow, Institution, InstitutionParameter, User, UserBlock
from tests.factories import Factory, days


@dataclass
class NetworkWorld:
    factory: Factory
    east: Institution
    west: Institution
    north: Institution
    south: Institution
    users: dict[str, User]
    keys: dict[str, dict[str, str]]

    def __getitem__(self, name: str) -> User:
        return self.users[name]

    def call(self, client: TestClient, who: str, method: str, path: str, **kw: Any) -> httpx2.Response:
        if who not in self.keys:
            self.keys[who] = self.factory.key(self.users[who])
        # A request that fails rolls back to the last commit: keep the set-up out of its reach.
        self.factory.session.commit()
        return client.request(method, path, headers={**self.keys[who], **kw.pop("headers", {})}, **kw)

    def get(self, client: TestClient, who: str, path: str, **params: Any) -> httpx2.Response:
        return self.call(client, who, "GET", path, params=params)

    def link(self, client: TestClient, who: str, source: str, source_user_id: str) -> httpx2.Response:
        return self.call(
            client,
            who,
            "POST",
            "/almaws/v1/users",
            params={"source_institution_code": source, "source_user_id": source_user_id},
        )

    def rule(self, client: TestClient, body: dict[str, Any], who: str = "east_ua") -> httpx2.Response:
        return self.call(client, who, "POST", "/api/v1/network/linked-account-rules", json=body)

    def parameter(self, institution: Institution, name: str, value: Any) -> None:
        self.factory.session.add(InstitutionParameter(institution_id=institution.id, name=name, value=value))
        self.factory.session.flush()


def rule_body(sources: list[str], group: str = "WALKIN", operator: str = "in", **output: Any) -> dict[str, Any]:
    return {
        "name": f"{operator} {' '.join(sources)}",
        "description": "",
        "input": [{"parameter": "source_institution", "operator": operator, "value": sources}],
        "output": {"user_group": group, **output},
    }


def error_of(response: httpx2.Response) -> dict[str, str]:
    return response.json()["errorList"]["error"][0]  # type: ignore[no-any-return]


def build_network_world(factory: Factory) -> NetworkWorld:
    consortium = factory.consortium("NLCT", "Network Test Consortium")
    east = factory.institution("EAST", consortium, name="Eastern State University")
    west = factory.institution("WEST", consortium, name="Western Tech")
    north = factory.institution("NORTH", consortium, name="Northern College")
    south = factory.institution("SOUTH", None, name="Southern College")
    factory.network(east, west, north, code="FN")
    factory.network(south, code="FN_SOUTH")
    session = factory.session
    for institution in (east, west, north, south):
        session.add(
            CodeTableRow(institution_id=institution.id, table_name="UserGroups", code="GUEST", description="Guest")
        )
    # EAST's default group is WALKIN: the default rule starts with it.
    walk_in = session.scalars(
        select(CodeTableRow).where(
            CodeTableRow.institution_id == east.id,
            CodeTableRow.table_name == "UserGroups",
            CodeTableRow.code == "WALKIN",
        )
    ).one()
    walk_in.is_default = True
    session.flush()
    patron = {"record_type": "PUBLIC"}
    users = {
        "east_gsa": factory.user(east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,)),
        "east_ua": factory.user(east, "east-ua", roles=(R.USER_ADMINISTRATOR,)),
        "east_cdo": factory.user(east, "east-cdo", roles=(R.CIRCULATION_DESK_OPERATOR,)),
        "east_staff": factory.user(east, "east-staff"),
        "east_pat": factory.user(east, "east-pat", user_group="UNDERGRAD", **patron),
        "west_ua": factory.user(west, "west-ua", roles=(R.USER_ADMINISTRATOR,)),
        "west_cdo": factory.user(west, "west-cdo", roles=(R.CIRCULATION_DESK_OPERATOR,)),
        "west_pat": factory.user(
            west,
            "west-pat",
            first_name="Mary",
            last_name="Walker",
            user_group="UNDERGRAD",
            email="mary@west.example.edu",
            phone="+1 555 0100",
            job_category="STUDENT",
            expiry_date=days(100),
            identifiers=(("BARCODE", "W-1"), ("UNIV_ID", "WU-1")),
            **patron,
        ),
        "west_guest": factory.user(
            west, "west-guest", last_name="Guest", user_group="GUEST", identifiers=(("BARCODE", "W-2"),), **patron
        ),
        "west_inactive": factory.user(
            west, "west-inactive", last_name="Walker", status="INACTIVE", identifiers=(("BARCODE", "W-3"),), **patron
        ),
        "west_nobar": factory.user(
            west, "west-nobar", last_name="Nobar", user_group="UNDERGRAD", identifiers=(("UNIV_ID", "WU-4"),), **patron
        ),
        "north_ua": factory.user(north, "north-ua", roles=(R.USER_ADMINISTRATOR,)),
        "north_pat": factory.user(
            north,
            "north-pat",
            first_name="Nora",
            last_name="Walker",
            user_group="UNDERGRAD",
            expiry_date=days(200),
            identifiers=(("BARCODE", "N-1"),),
            **patron,
        ),
        "south_pat": factory.user(south, "south-pat", last_name="Walker", identifiers=(("BARCODE", "S-1"),), **patron),
        "operator": factory.operator("op-network"),
    }
    west_pat = users["west_pat"]
    session.add_all(
        [
            UserBlock(user_id=west_pat.id, description="Overdue fines in the network", network=True),
            UserBlock(user_id=west_pat.id, description="Lost item", network=False),
        ]
    )
    session.flush()
    session.refresh(west_pat)
    return NetworkWorld(factory, east, west, north, south, users, {})


@pytest.fixture
def world(factory: Factory) -> NetworkWorld:
    return build_network_world(factory)
