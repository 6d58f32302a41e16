"""`/almaws/v1/users`: search, create, read, swap-all update and delete, as each kind of caller (P-3, P-8, R-2..R-4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.platform.models import CodeTableRow, User
from tests.almaws.test_users_world import EAST_USERS, UsersWorld, build_users_world, error_of
from tests.factories import Factory

JSON = "application/json;charset=UTF-8"


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


def _ids(response_json: dict) -> list[str]:  # type: ignore[type-arg]
    return [entry["primary_id"] for entry in response_json.get("user", [])]


def _history(world: UsersWorld, primary_id: str) -> list[HistoryEvent]:
    session = world.factory.session
    return list(
        session.scalars(
            select(HistoryEvent)
            .where(HistoryEvent.entity == "user", HistoryEvent.entity_id == primary_id)
            .order_by(HistoryEvent.id)
        )
    )


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("operator", EAST_USERS),
        ("east_gsa", EAST_USERS),
        ("east_ua", EAST_USERS),
        ("east_cdo", EAST_USERS),
        ("east_staff", {"east-staff"}),  # plain staff see only themselves
        ("west_ua", {"west-ua", "west-pat"}),
    ],
)
def test_list_shows_what_the_caller_may_see(
    client: TestClient, world: UsersWorld, who: str, expected: set[str]
) -> None:
    response = world.call(client, who, "GET", "/almaws/v1/users", {"limit": 100})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    body = response.json()
    assert set(_ids(body)) == expected
    assert body["total_record_count"] == len(expected)


def test_operator_must_name_the_institution(client: TestClient, world: UsersWorld) -> None:
    response = client.get("/almaws/v1/users", headers=world["operator"].headers)
    assert response.status_code == 400
    assert "institution" in error_of(response)["errorMessage"]
    west = client.get("/almaws/v1/users?institution=WEST&limit=100", headers=world["operator"].headers)
    assert set(_ids(west.json())) == {"west-ua", "west-pat"}


def test_brief_entries_and_paging_envelope(client: TestClient, world: UsersWorld) -> None:
    first = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"limit": 2, "offset": 0}).json()
    assert first["total_record_count"] == len(EAST_USERS)
    assert len(first["user"]) == 2
    entry = first["user"][0]
    assert set(entry) == {"primary_id", "first_name", "last_name", "status", "link"}
    assert entry["status"]["value"] == "ACTIVE"
    assert entry["link"].endswith(f"/almaws/v1/users/{entry['primary_id']}")
    # Past the end and limit 0: the array is omitted, the count stays.
    beyond = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"offset": 50}).json()
    assert beyond == {"total_record_count": len(EAST_USERS)}
    none = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"limit": 0}).json()
    assert none == {"total_record_count": len(EAST_USERS)}
    empty = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"q": "last_name~Nobody"}).json()
    assert empty == {"total_record_count": 0}


def test_stable_order_across_pages(client: TestClient, world: UsersWorld) -> None:
    east = world.east
    for primary_id, first, last in [
        ("ord-3", "Anna", "Berg"),
        ("ord-1", "Anna", "Berg"),
        ("ord-2", "Bo", "Aal"),
        ("ord-4", "Cai", "Berg"),
    ]:
        world.factory.user(east, primary_id, first_name=first, last_name=last)
    world.factory.session.commit()
    walked: list[str] = []
    offset = 0
    while True:
        page = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"limit": 3, "offset": offset}).json()
        if "user" not in page:
            break
        walked += _ids(page)
        offset += 3
    everything = _ids(world.call(client, "east_ua", "GET", "/almaws/v1/users", {"limit": 100}).json())
    assert walked == everything
    assert len(set(walked)) == len(walked) == 10
    # last name, then first name, then primary id
    assert [pid for pid in walked if pid.startswith("ord-")] == ["ord-2", "ord-1", "ord-3", "ord-4"]
    by_id = _ids(
        world.call(client, "east_ua", "GET", "/almaws/v1/users", {"limit": 100, "order_by": "primary_id"}).json()
    )
    assert by_id == sorted(by_id)
    bad = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"order_by": "email"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("last_name~Smith", {"east-pat", "east-pat2"}),
        ("last_name~smith AND first_name~John", {"east-pat2"}),
        ("first_name~Mary_Ann", {"east-pat"}),  # almapipy sends spaces as _
        ("first_name~Mary+Ann", {"east-pat"}),  # almapiwrapper sends spaces as + (here a literal +)
        ("primary_id~east-pat", {"east-pat", "east-pat2"}),
        ("primary_id~EAST-PAT2", {"east-pat2"}),
        ("user_group~UNDERGRAD", {"east-pat"}),
        ("user_group~undergrad", {"east-pat"}),
        ("ALL~B-100", {"east-pat"}),  # an identifier
        ("ALL~smith_mary", {"east-pat"}),  # every word somewhere
        ("ALL~mary@east", {"east-pat"}),
        ("ALL~100%", set()),  # LIKE wildcards are plain characters
    ],
)
def test_q_parsing(client: TestClient, world: UsersWorld, q: str, expected: set[str]) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"q": q, "limit": 100})
    assert response.status_code == 200, response.text
    assert set(_ids(response.json())) == expected


def test_underscore_in_a_primary_id_is_found(client: TestClient, world: UsersWorld) -> None:
    world.factory.user(world.east, "east_under", last_name="Under")
    world.factory.session.commit()
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"q": "primary_id~east_under"})
    assert _ids(response.json()) == ["east_under"]


@pytest.mark.parametrize(
    "q",
    ["last_name=Smith", "nickname~x", "last_name~", "last_name~_", "first_name~a OR last_name~b", "~Smith"],
)
def test_invalid_q_is_60106(client: TestClient, world: UsersWorld, q: str) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"q": q})
    assert response.status_code == 400
    error = error_of(response)
    assert error["errorCode"] == "60106"
    assert error["errorMessage"].startswith("Invalid query format.")


@pytest.mark.parametrize(
    "params",
    [{"limit": 500}, {"limit": -1}, {"offset": -5}, {"limit": "ten"}, {"q": "x" * 3000}],
)
def test_bad_list_parameters_are_400(client: TestClient, world: UsersWorld, params: dict) -> None:  # type: ignore[type-arg]
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", params)
    assert response.status_code == 400
    error_of(response)


def test_unknown_parameters_are_ignored(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"expand": "full", "whatever": "1"})
    assert response.status_code == 200


def test_list_in_xml(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users", {"format": "xml", "limit": 2})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input
    assert root.tag == "users"
    assert root.get("total_record_count") == str(len(EAST_USERS))
    assert len(root.findall("user")) == 2
    assert root.find("user/primary_id") is not None


# --- read -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "params"),
    [
        ("east-pat", {}),
        ("EAST-PAT", {}),
        ("B-100", {}),  # all_unique: any identifier
        ("east-pat", {"user_id_type": "primary_id"}),
        ("u-100", {"user_id_type": "UNIV_ID"}),
    ],
)
def test_get_user_by_each_id_type(client: TestClient, world: UsersWorld, user_id: str, params: dict) -> None:  # type: ignore[type-arg]
    response = world.call(client, "east_cdo", "GET", f"/almaws/v1/users/{user_id}", params)
    assert response.status_code == 200, response.text
    assert response.json()["primary_id"] == "east-pat"


def test_user_json_shape(client: TestClient, world: UsersWorld) -> None:
    body = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    assert body["record_type"] == {"value": "PUBLIC", "desc": "Public"}
    assert body["account_type"] == {"value": "INTERNAL", "desc": "Internal"}
    assert body["user_group"] == {"value": "UNDERGRAD", "desc": "Undergraduate"}
    assert body["status"]["value"] == "ACTIVE"
    assert body["full_name"] == "Mary Ann Smith"
    assert body["contact_info"]["email"][0]["email_address"] == "mary@east.example.edu"
    assert {i["id_type"]["value"]: i["value"] for i in body["user_identifier"]} == {
        "BARCODE": "B-100",
        "UNIV_ID": "U-100",
    }
    assert body["user_identifier"][0]["id_type"]["desc"] == "Barcode"
    assert body["support_level"] == {"value": "NONE", "desc": "None"}
    assert body["link"].endswith("/almaws/v1/users/east-pat")
    assert "password" not in body
    assert "trackingID" not in str(body)


def test_get_in_xml(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat", {"format": "xml"})
    root = ET.fromstring(response.content)  # noqa: S314 - our own answer, not untrusted input
    assert root.tag == "user"
    assert root.findtext("primary_id") == "east-pat"
    assert root.find("user_group").get("desc") == "Undergraduate"  # type: ignore[union-attr]


def test_unknown_ids(client: TestClient, world: UsersWorld) -> None:
    unknown = world.call(client, "east_ua", "GET", "/almaws/v1/users/nobody")
    assert unknown.status_code == 404
    assert error_of(unknown)["errorCode"] == "401861"
    typed = world.call(client, "east_ua", "GET", "/almaws/v1/users/nobody", {"user_id_type": "BARCODE"})
    assert typed.status_code == 404
    assert error_of(typed)["errorCode"] == "401890"
    # A primary id is not an identifier of type BARCODE.
    wrong_type = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat", {"user_id_type": "BARCODE"})
    assert wrong_type.status_code == 404


# --- tenancy and denials ----------------------------------------------------------------------


def _same_as_unknown(client: TestClient, world: UsersWorld, who: str, method: str, hidden: str, **kw: object) -> None:
    seen = world.call(client, who, method, f"/almaws/v1/users/{hidden}", **kw)  # type: ignore[arg-type]
    missing = world.call(client, who, method, "/almaws/v1/users/no-such-user", **kw)  # type: ignore[arg-type]
    assert seen.status_code == missing.status_code == 404, (seen.text, missing.text)
    assert error_of(seen)["errorCode"] == error_of(missing)["errorCode"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_institutions_users_are_unknown(client: TestClient, world: UsersWorld, method: str) -> None:
    body = {"json": {"last_name": "X"}} if method == "PUT" else {}
    _same_as_unknown(client, world, "west_ua", method, "east-pat", **body)
    _same_as_unknown(client, world, "east_ua", method, "west-pat", **body)
    # An identifier of another institution's user is not found either.
    _same_as_unknown(client, world, "west_ua", method, "B-100", **body)
    # The operator working in WEST does not see EAST's users.
    seen = world.call(client, "operator", method, "/almaws/v1/users/east-pat", {"institution": "WEST"}, **body)
    assert seen.status_code == 404


def test_plain_staff_do_not_see_others(client: TestClient, world: UsersWorld) -> None:
    _same_as_unknown(client, world, "east_staff", "GET", "east-pat")
    own = world.call(client, "east_staff", "GET", "/almaws/v1/users/east-staff")
    assert own.status_code == 200


@pytest.mark.parametrize(
    ("who", "method", "target", "reason"),
    [
        ("east_cdo", "PUT", "east-pat", "Changing users needs"),
        ("east_cdo", "DELETE", "east-pat", "Deleting users needs"),
        ("east_staff", "PUT", "east-staff", "Changing users needs"),
        ("east_staff", "DELETE", "east-staff", "Deleting users needs"),
    ],
)
def test_visible_but_not_permitted_is_403_with_reason(
    client: TestClient, world: UsersWorld, who: str, method: str, target: str, reason: str
) -> None:
    kw = {"json": {"last_name": "Changed"}} if method == "PUT" else {}
    response = world.call(client, who, method, f"/almaws/v1/users/{target}", **kw)  # type: ignore[arg-type]
    assert response.status_code == 403
    assert reason in error_of(response)["errorMessage"]


@pytest.mark.parametrize("who", ["east_cdo", "east_staff"])
def test_create_needs_an_administrator(client: TestClient, world: UsersWorld, who: str) -> None:
    response = world.call(client, who, "POST", "/almaws/v1/users", json={"primary_id": "n1", "last_name": "N"})
    assert response.status_code == 403
    assert "Creating users needs" in error_of(response)["errorMessage"]


def test_no_key_and_revoked_key_are_401(client: TestClient, world: UsersWorld) -> None:
    assert client.get("/almaws/v1/users/east-pat").status_code == 401
    assert client.get("/almaws/v1/users/east-pat", headers={"Authorization": "apikey ck_nope"}).status_code == 401


# --- create -----------------------------------------------------------------------------------

FULL_USER = {
    "primary_id": "new-jane",
    "record_type": {"value": "STAFF"},
    "first_name": "Jane",
    "middle_name": "Q",
    "last_name": "Public",
    "user_group": {"value": "STAFF"},
    "job_category": {"value": "Librarian"},
    "birth_date": "1990-03-01Z",
    "expiry_date": "2030-12-31",
    "purge_date": "2031-06-30Z",
    "status": {"value": "ACTIVE"},
    "account_type": {"value": "INTERNAL"},
    "password": "a long secret",
    "contact_info": {
        "email": [{"email_address": "other@x.org"}, {"email_address": "jane@x.org", "preferred": True}],
        "phone": [{"phone_number": "+1 555 0100"}],
        "address": [{"line1": "1 Main St", "city": "Eastville", "country": {"value": "USA"}, "preferred": True}],
    },
    "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "B-900"}],
    "user_role": [
        {"role_type": {"value": "ELECTRONIC_INVENTORY_OPERATOR"}, "scope": {"value": "EAST_L1"}},
        {"role_type": {"value": "CIRCULATION_DESK_OPERATOR"}, "scope": {"value": "EAST"}, "expiry_date": "2029-01-01Z"},
    ],
    "user_block": [{"block_type": {"value": "GENERAL"}, "block_description": {"value": "Lost card"}}],
    "support_level": {"value": "BASIC"},
    "full_name": "ignored",
    "link": "ignored",
}


@pytest.mark.parametrize("who", ["operator", "east_gsa", "east_ua"])
def test_create_user(client: TestClient, world: UsersWorld, who: str) -> None:
    response = world.call(client, who, "POST", "/almaws/v1/users", json=FULL_USER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["primary_id"] == "new-jane"
    assert body["full_name"] == "Jane Q Public"
    assert body["birth_date"] == "1990-03-01Z"
    assert body["expiry_date"] == "2030-12-31Z"
    assert body["purge_date"] == "2031-06-30Z"
    assert body["job_category"]["value"] == "Librarian"
    assert body["contact_info"]["email"][0]["email_address"] == "jane@x.org"  # the preferred one
    assert body["contact_info"]["phone"][0]["phone_number"] == "+1 555 0100"
    assert body["contact_info"]["address"][0]["city"] == "Eastville"
    assert body["contact_info"]["address"][0]["country"]["value"] == "USA"
    assert body["user_identifier"][0]["value"] == "B-900"
    assert body["user_block"][0]["block_description"]["value"] == "Lost card"
    assert body["user_block"][0]["segment_type"] == "Internal"
    roles = {(r["role_type"]["value"], r["scope"]["value"]): r for r in body["user_role"]}
    eio = roles[("ELECTRONIC_INVENTORY_OPERATOR", "EAST_L1")]
    assert eio["scope"]["desc"] == "EAST Library 1"
    assert eio["status"]["value"] == "ACTIVE"
    assert eio["role_type"]["desc"] == "Electronic Inventory Operator"
    cdo = roles[("CIRCULATION_DESK_OPERATOR", "EAST")]
    assert cdo["scope"]["desc"] == "Eastern State University"
    assert cdo["expiry_date"] == "2029-01-01Z"
    assert body["support_level"]["value"] == "BASIC"
    assert "password" not in body
    stored = world.factory.session.scalars(select(User).where(User.primary_id == "new-jane")).one()
    assert stored.institution_id == world.east.id
    assert stored.password_hash
    assert "a long secret" not in stored.password_hash
    fields = [(e.field, e.new) for e in _history(world, "new-jane")]
    assert ("user", "created (STAFF, ACTIVE)") in fields
    assert ("role", "ELECTRONIC_INVENTORY_OPERATOR @ EAST_L1 (ACTIVE)") in fields
    assert ("role", "CIRCULATION_DESK_OPERATOR @ EAST (ACTIVE, until 2029-01-01)") in fields
    assert ("identifier", "BARCODE B-900 (ACTIVE)") in fields
    # and the new user is found
    found = world.call(client, who, "GET", "/almaws/v1/users/B-900")
    assert found.json()["primary_id"] == "new-jane"


def test_minimal_create_defaults(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "POST", "/almaws/v1/users", json={"primary_id": "min", "last_name": "M"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record_type"]["value"] == "PUBLIC"
    assert body["status"]["value"] == "ACTIVE"
    assert body["user_role"] == []
    assert body["account_type"]["value"] == "INTERNAL"


@pytest.mark.parametrize(
    ("change", "status", "code", "message"),
    [
        ({"primary_id": "EAST-PAT"}, 400, "401851", "already exists"),
        ({"user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "b-100"}]}, 400, "401851", "BARCODE"),
        (
            {
                "user_identifier": [
                    {"id_type": {"value": "BARCODE"}, "value": "X1"},
                    {"id_type": {"value": "BARCODE"}, "value": "x1"},
                ]
            },
            400,
            "401851",
            "twice",
        ),
        ({"user_group": {"value": "NOPE"}}, 400, "401852", "not legal"),
        ({"user_identifier": [{"id_type": {"value": "PASSPORT"}, "value": "P1"}]}, 400, "401863", "PASSPORT"),
        ({"last_name": ""}, 400, "401664", "last_name"),
        ({"primary_id": ""}, 400, "401664", "primary_id"),
        ({"account_type": {"value": "EXTERNAL"}}, 400, "401857", "linking"),
        ({"record_type": {"value": "CONTACT"}}, 400, "40166411", "record_type"),
        ({"status": {"value": "GONE"}}, 400, "40166411", "status"),
        ({"support_level": {"value": "CONSORTIA"}}, 400, "40166411", "licence"),
        ({"support_level": {"value": "PLATINUM"}}, 400, "40166411", "support_level"),
        ({"password": "short"}, 400, "401664", "8 characters"),
        ({"contact_info": {"email": [{"email_address": "not an address"}]}}, 400, "40166411", "email"),
    ],
)
def test_create_refusals(
    client: TestClient,
    world: UsersWorld,
    change: dict,
    status: int,
    code: str,
    message: str,  # type: ignore[type-arg]
) -> None:
    body = {"primary_id": "refused", "last_name": "R", "record_type": "STAFF", **change}
    response = world.call(client, "east_gsa", "POST", "/almaws/v1/users", json=body)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["errorCode"] == code
    assert message in error["errorMessage"]
    assert world.factory.session.scalar(select(User.id).where(User.primary_id == "refused")) is None


def test_disabled_user_group_cannot_be_given(client: TestClient, world: UsersWorld) -> None:
    row = world.factory.session.scalars(
        select(CodeTableRow).where(CodeTableRow.institution_id == world.east.id, CodeTableRow.code == "WALKIN")
    ).one()
    row.enabled = False
    world.factory.session.commit()
    body = {"primary_id": "walker", "last_name": "W", "user_group": "WALKIN"}
    response = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=body)
    assert response.status_code == 400
    assert error_of(response)["errorCode"] == "401852"


def test_same_primary_id_in_another_institution_is_fine(client: TestClient, world: UsersWorld) -> None:
    response = world.call(
        client, "west_ua", "POST", "/almaws/v1/users", json={"primary_id": "east-pat", "last_name": "W"}
    )
    assert response.status_code == 200, response.text
    # and the EAST user is untouched
    east = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    assert east["last_name"] == "Smith"


def test_standard_level_needs_gsa_or_operator(client: TestClient, world: UsersWorld) -> None:
    body = {"primary_id": "lvl", "last_name": "L", "record_type": "STAFF", "support_level": "STANDARD"}
    refused = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=body)
    assert refused.status_code == 403
    assert "STANDARD" in error_of(refused)["errorMessage"]
    allowed = world.call(client, "east_gsa", "POST", "/almaws/v1/users", json=body)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["support_level"]["value"] == "STANDARD"
    patron = world.call(
        client, "operator", "POST", "/almaws/v1/users", json={**body, "primary_id": "lvl2", "record_type": "PUBLIC"}
    )
    assert patron.status_code == 400
    assert "staff" in error_of(patron)["errorMessage"]


def test_consortia_level_is_never_changed_here(client: TestClient, world: UsersWorld) -> None:
    user = world["east_staff"].user
    user.support_level = "CONSORTIA"
    world.factory.session.commit()
    current = world.call(client, "east_gsa", "GET", "/almaws/v1/users/east-staff").json()
    # Sending the user back unchanged is fine.
    same = world.call(client, "east_gsa", "PUT", "/almaws/v1/users/east-staff", json=current)
    assert same.status_code == 200, same.text
    lowered = world.call(
        client,
        "operator",
        "PUT",
        "/almaws/v1/users/east-staff",
        json={**current, "support_level": {"value": "STANDARD"}},
    )
    assert lowered.status_code == 400
    assert "licence" in error_of(lowered)["errorMessage"]


@pytest.mark.parametrize(
    "body",
    [
        {"primary_id": "t1", "last_name": 5},
        {"primary_id": ["t1"], "last_name": "T"},
        {"primary_id": "t1", "last_name": "T", "birth_date": "31/12/2000"},
        {"primary_id": "t1", "last_name": "T", "expiry_date": "2030-02-30"},
        {"primary_id": "t1", "last_name": "T", "expiry_date": 20300101},
        {"primary_id": "t1", "last_name": "T", "user_identifier": "B-1"},
        {
            "primary_id": "t1",
            "last_name": "T",
            "user_role": [{"role_type": {"value": "PATRON"}, "expiry_date": "soon"}],
        },
        {"primary_id": "t1", "last_name": "T", "user_role": [{"scope": {"value": "EAST"}}]},
        {"primary_id": "x" * 101, "last_name": "T"},
        {"primary_id": "t1", "last_name": "T" * 101},
        {"primary_id": "t1", "last_name": "T", "version": "one"},
        [],
        "just a string",
    ],
)
def test_bad_input_is_400_in_the_error_shape(client: TestClient, world: UsersWorld, body: object) -> None:
    response = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=body)
    assert response.status_code == 400, response.text
    error_of(response)


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "status"),
    [
        ("GET", "/almaws/v1/users/a%00b", {}, None, 404),
        ("GET", "/almaws/v1/users", {"q": "last_name~a\x00b"}, None, 400),
        ("POST", "/almaws/v1/users", {}, {"primary_id": "n\x00", "last_name": "x"}, 400),
        ("POST", "/almaws/v1/users", {}, {"primary_id": "n1", "last_name": "x\x00"}, 400),
        (
            "POST",
            "/almaws/v1/users",
            {},
            {"primary_id": "n2", "last_name": "x", "user_block": [{"block_note": "\x01"}]},
            400,
        ),
        (
            "POST",
            "/almaws/v1/users",
            {},
            {"primary_id": "n3", "last_name": "x", "contact_info": {"address": [{"city": "\x00"}]}},
            400,
        ),
        (
            "POST",
            "/almaws/v1/users",
            {},
            {"primary_id": "n4", "last_name": "x", "user_identifier": [{"id_type": "BARCODE", "value": "\x00"}]},
            400,
        ),
        ("GET", "/almaws/v1/users", {"source_institution_code": "\x00", "source_user_id": "x"}, None, 200),
        ("GET", "/almaws/v1/users/west-pat", {"source_institution_code": "WEST\x00"}, None, 404),
        ("GET", "/almaws/v1/conf/libraries/%00", {}, None, 404),
        ("PUT", "/almaws/v1/conf/code-tables/UserGroups", {}, {"row": [{"code": "A\x00"}]}, 400),
        ("POST", "/api/v1/users/%00/api-keys", {}, {}, 404),
        ("POST", "/api/v1/users/east-ua/api-keys", {}, {"label": "\x00"}, 400),
    ],
)
def test_control_characters_answer_alike_on_every_database(
    client: TestClient,
    world: UsersWorld,
    method: str,
    path: str,
    params: dict,
    body: object,
    status: int,  # type: ignore[type-arg]
) -> None:
    kw = {"json": body} if body is not None else {}
    response = world.call(client, "east_ua", method, path, params, **kw)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    if status >= 400:
        error_of(response)


def test_malformed_json_is_400(client: TestClient, world: UsersWorld) -> None:
    response = world.call(
        client,
        "east_ua",
        "POST",
        "/almaws/v1/users",
        content=b'{"primary_id": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    error_of(response)


def test_single_objects_where_lists_are_expected(client: TestClient, world: UsersWorld) -> None:
    body = {
        "primary_id": "single",
        "last_name": "S",
        "user_identifier": {"id_type": "BARCODE", "value": "S-1"},
        "contact_info": {"email": {"email_address": "s@x.org"}},
    }
    response = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["user_identifier"][0]["value"] == "S-1"


# --- update (swap all) ------------------------------------------------------------------------


def test_put_swaps_all_lists_but_keeps_roles(client: TestClient, world: UsersWorld) -> None:
    created = world.call(client, "east_ua", "POST", "/almaws/v1/users", json=FULL_USER).json()
    assert created["user_block"]
    assert created["user_role"]
    assert created["contact_info"]["email"]
    body = {
        "first_name": "Janet",
        "last_name": "Public",
        "user_identifier": [{"id_type": {"value": "UNIV_ID"}, "value": "U-900"}],
    }
    response = world.call(client, "east_ua", "PUT", "/almaws/v1/users/new-jane", json=body)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["first_name"] == "Janet"
    assert updated["middle_name"] == "Q"  # a plain field left out keeps its value
    assert [(i["id_type"]["value"], i["value"]) for i in updated["user_identifier"]] == [("UNIV_ID", "U-900")]
    assert updated["user_block"] == []  # a list left out is emptied
    assert updated["contact_info"] == {"address": [], "email": [], "phone": []}
    assert len(updated["user_role"]) == 2  # absent user_role keeps the roles
    assert updated["version"] == created["version"] + 1
    # An empty user_role list keeps the roles too.
    kept = world.call(client, "east_ua", "PUT", "/almaws/v1/users/new-jane", json={**updated, "user_role": []})
    assert len(kept.json()["user_role"]) == 2
    # A given user_role list replaces them.
    one_role = [{"role_type": {"value": "PURCHASING_OPERATOR"}, "scope": {"value": "EAST_L2"}}]
    replaced = world.call(
        client, "east_ua", "PUT", "/almaws/v1/users/new-jane", json={**updated, "user_role": one_role}
    )
    assert replaced.status_code == 200, replaced.text
    assert [(r["role_type"]["value"], r["scope"]["value"]) for r in replaced.json()["user_role"]] == [
        ("PURCHASING_OPERATOR", "EAST_L2")
    ]
    changes = [(e.field, e.old, e.new) for e in _history(world, "new-jane")]
    assert ("first_name", "Jane", "Janet") in changes
    assert ("identifier", "BARCODE B-900 (ACTIVE)", None) in changes
    assert ("identifier", None, "UNIV_ID U-900 (ACTIVE)") in changes
    assert ("email", "jane@x.org", None) in changes
    assert ("block", "GENERAL: Lost card (ACTIVE)", None) in changes
    assert ("address", "1 Main St, Eastville, USA", None) in changes
    assert ("role", "ELECTRONIC_INVENTORY_OPERATOR @ EAST_L1 (ACTIVE)", None) in changes
    assert ("role", None, "PURCHASING_OPERATOR @ EAST_L2 (ACTIVE)") in changes


def test_get_then_put_unchanged_changes_nothing(client: TestClient, world: UsersWorld) -> None:
    before = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    count = len(_history(world, "east-pat"))
    response = world.call(client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json=before)
    assert response.status_code == 200, response.text
    after = response.json()
    assert after == before
    assert len(_history(world, "east-pat")) == count


def test_put_writes_field_history(client: TestClient, world: UsersWorld) -> None:
    current = world.call(client, "east_gsa", "GET", "/almaws/v1/users/east-pat").json()
    body = {**current, "status": {"value": "INACTIVE"}, "expiry_date": "2027-01-31Z", "user_group": "STAFF"}
    response = world.call(client, "east_gsa", "PUT", "/almaws/v1/users/east-pat", json=body)
    assert response.status_code == 200, response.text
    events = {(e.field, e.old, e.new, e.actor_id, e.institution_id) for e in _history(world, "east-pat")}
    gsa = world["east_gsa"].user.id
    assert ("status", "ACTIVE", "INACTIVE", gsa, world.east.id) in events
    assert ("expiry_date", None, "2027-01-31", gsa, world.east.id) in events
    assert ("user_group", "UNDERGRAD", "STAFF", gsa, world.east.id) in events


def test_put_password_is_write_only_and_recorded(client: TestClient, world: UsersWorld) -> None:
    current = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    response = world.call(
        client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json={**current, "password": "n3w password"}
    )
    assert response.status_code == 200
    assert "password" not in response.json()
    assert ("password", "changed") in [(e.field, e.new) for e in _history(world, "east-pat")]
    assert all("n3w" not in (e.new or "") for e in _history(world, "east-pat"))


def test_lost_update_is_409(client: TestClient, world: UsersWorld) -> None:
    read = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat")
    etag = read.headers["etag"]
    assert etag == f'"{read.json()["version"]}"'
    first = world.call(client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json={**read.json(), "first_name": "One"})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    # A second writer who read before the first change: refused, by body version or by If-Match.
    stale_body = world.call(
        client, "east_gsa", "PUT", "/almaws/v1/users/east-pat", json={**read.json(), "first_name": "Two"}
    )
    assert stale_body.status_code == 409
    assert error_of(stale_body)["errorCode"] == "CONFLICT"
    body = {k: v for k, v in read.json().items() if k != "version"}
    stale_header = client.put(
        "/almaws/v1/users/east-pat",
        headers={**world["east_gsa"].headers, "If-Match": etag},
        json={**body, "first_name": "Two"},
    )
    assert stale_header.status_code == 409
    fresh = client.put(
        "/almaws/v1/users/east-pat",
        headers={**world["east_gsa"].headers, "If-Match": first.headers["etag"]},
        json={**body, "first_name": "Two"},
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["first_name"] == "Two"
    # Without a version, Alma's behaviour: last write wins.
    assert world.call(client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json=body).status_code == 200
    bad = client.put(
        "/almaws/v1/users/east-pat", headers={**world["east_gsa"].headers, "If-Match": "yesterday"}, json=body
    )
    assert bad.status_code == 400


def test_primary_id_and_account_type_cannot_change(client: TestClient, world: UsersWorld) -> None:
    current = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    renamed = world.call(client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json={**current, "primary_id": "x"})
    assert renamed.status_code == 400
    external = world.call(
        client, "east_ua", "PUT", "/almaws/v1/users/east-pat", json={**current, "account_type": {"value": "EXTERNAL"}}
    )
    assert external.status_code == 400
    assert error_of(external)["errorCode"] == "401857"


def test_put_by_identifier(client: TestClient, world: UsersWorld) -> None:
    current = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat").json()
    response = world.call(
        client,
        "east_ua",
        "PUT",
        "/almaws/v1/users/U-100",
        {"user_id_type": "UNIV_ID"},
        json={**current, "last_name": "Smyth"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["last_name"] == "Smyth"


# --- delete -----------------------------------------------------------------------------------


def test_delete_user(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "DELETE", "/almaws/v1/users/east-pat")
    assert response.status_code == 204
    assert response.content == b""
    again = world.call(client, "east_ua", "GET", "/almaws/v1/users/east-pat")
    assert again.status_code == 404
    assert ("user", "deleted") in [(e.field, e.new) for e in _history(world, "east-pat")]
    assert world.call(client, "east_ua", "GET", "/almaws/v1/users/B-100").status_code == 404


def test_nobody_deletes_themselves(client: TestClient, world: UsersWorld) -> None:
    response = world.call(client, "east_ua", "DELETE", "/almaws/v1/users/east-ua")
    assert response.status_code == 400


def test_deleting_a_user_who_created_keys_for_others(client: TestClient, world: UsersWorld) -> None:
    made = world.call(client, "east_gsa", "POST", "/api/v1/users/east-staff/api-keys", json={})
    assert made.status_code == 201, made.text
    response = world.call(client, "operator", "DELETE", "/almaws/v1/users/east-gsa")
    assert response.status_code == 204, response.text
    key = made.json()["key"]
    assert client.get("/almaws/v1/users/east-staff", headers={"Authorization": f"apikey {key}"}).status_code == 200


# --- linked accounts (read side) --------------------------------------------------------------


def test_linked_account_is_shown_as_external(client: TestClient, world: UsersWorld) -> None:
    west_pat = world["west_pat"].user
    world.factory.user(
        world.east,
        "lnk-west-pat",
        record_type="PUBLIC",
        last_name="Tern",
        account_type="LINKED",
        source_institution_id=world.west.id,
        source_user_id=west_pat.id,
        linking_id="LINK-1",
        linked_rule="Default rule",
    )
    world.factory.session.commit()
    by_source = world.call(client, "east_cdo", "GET", "/almaws/v1/users/west-pat", {"source_institution_code": "WEST"})
    assert by_source.status_code == 200, by_source.text
    body = by_source.json()
    assert body["primary_id"] == "lnk-west-pat"
    assert body["account_type"] == {"value": "EXTERNAL", "desc": "Linked account"}
    assert body["source_institution_code"] == "WEST"
    assert body["source_link_id"] == "west-pat"
    assert body["linking_id"] == "LINK-1"
    assert body["linked_account_rule"]["value"] == "Default rule"
    by_link = world.call(client, "east_cdo", "GET", "/almaws/v1/users/LINK-1", {"user_id_type": "linking_id"})
    assert by_link.json()["primary_id"] == "lnk-west-pat"
    listed = world.call(
        client, "east_cdo", "GET", "/almaws/v1/users", {"source_institution_code": "WEST", "source_user_id": "west-pat"}
    )
    assert _ids(listed.json()) == ["lnk-west-pat"]
    none = world.call(
        client, "east_cdo", "GET", "/almaws/v1/users", {"source_institution_code": "WEST", "source_user_id": "west-ua"}
    )
    assert none.json() == {"total_record_count": 0}
    half = world.call(client, "east_cdo", "GET", "/almaws/v1/users", {"source_institution_code": "WEST"})
    assert half.status_code == 400
    missing = world.call(client, "east_cdo", "GET", "/almaws/v1/users/west-ua", {"source_institution_code": "WEST"})
    assert missing.status_code == 404
    assert error_of(missing)["errorCode"] == "4019990"
    # From WEST, the EAST linked account is not there.
    west = world.call(client, "west_ua", "GET", "/almaws/v1/users/west-pat", {"source_institution_code": "WEST"})
    assert west.status_code == 404
