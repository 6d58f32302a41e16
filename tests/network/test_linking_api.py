"""Linking and refreshing walk-in patrons through `/almaws/v1/users` (CN-9, CN-9a, CN-10) and walk-in
loans (CN-11)."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.audit.models import HistoryEvent
from consortia.platform.models import CodeTableRow, User, UserBlock, UserIdentifier
from tests.factories import days
from tests.network.conftest import NetworkWorld, error_of, rule_body


def _linked(world: NetworkWorld, source: User) -> User:
    session = world.factory.session
    session.expire_all()
    return session.scalars(
        select(User).where(User.institution_id == world.east.id, User.source_user_id == source.id)
    ).one()


def _refresh(client: TestClient, world: NetworkWorld, primary_id: str, who: str = "east_cdo") -> int:
    return world.call(client, who, "POST", f"/almaws/v1/users/{primary_id}", params={"op": "refresh"}).status_code


def test_linking_creates_a_linked_account_by_the_rule(client: TestClient, world: NetworkWorld) -> None:
    rule = world.rule(
        client,
        rule_body(
            ["WEST"],
            "WALKIN",
            expiry={"type": "RELATIVE", "offset": -1, "unit": "WEEKS"},
            purge={"type": "RELATIVE", "offset": 1, "unit": "MONTHS"},
            resource_sharing_library="EAST_L2",
        ),
    ).json()
    response = world.link(client, "east_cdo", "WEST", "west-pat")
    assert response.status_code == 200, response.text
    body = response.json()
    source_expiry = world["west_pat"].expiry_date
    assert source_expiry is not None
    expiry = source_expiry - dt.timedelta(weeks=1)
    assert body["primary_id"] == "west-pat.west"
    assert body["account_type"] == {"value": "EXTERNAL", "desc": "Linked account"}
    assert body["source_institution_code"] == "WEST"
    assert body["source_link_id"] == "west-pat"
    assert body["linking_id"]
    assert body["linked_account_rule"] == {"value": rule["id"], "desc": rule["name"]}
    assert body["user_group"]["value"] == "WALKIN"
    assert body["expiry_date"] == expiry.isoformat() + "Z"
    purge = dt.date(expiry.year + (expiry.month // 12), expiry.month % 12 + 1, min(expiry.day, 28))
    assert body["purge_date"] is not None
    assert body["purge_date"] >= purge.isoformat()
    assert body["rs_library"] == [{"code": {"value": "EAST_L2", "desc": "EAST Library 2"}}]
    assert body["first_name"] == "Mary"
    assert body["contact_info"]["email"][0]["email_address"] == "mary@west.example.edu"
    assert {i["value"] for i in body["user_identifier"]} == {"W-1", "WU-1"}
    patron_roles = [r for r in body["user_role"] if r["role_type"]["value"] == "PATRON"]
    assert patron_roles[0]["expiry_date"] == body["expiry_date"]
    assert body["user_block"] == []  # Copy Network Blocks is off
    by_link = world.get(client, "east_cdo", f"/almaws/v1/users/{body['linking_id']}", user_id_type="linking_id")
    assert by_link.json()["primary_id"] == "west-pat.west"
    found = world.get(client, "east_cdo", "/almaws/v1/users", source_institution_code="WEST", source_user_id="west-pat")
    assert found.json()["user"][0]["primary_id"] == "west-pat.west"
    search = world.get(client, "east_cdo", "/api/v1/network/walk-in/search", identifier="W-1").json()["patron"][0]
    assert search["linked_here"] is True
    assert search["linked_user_id"] == "west-pat.west"
    history = world.factory.session.scalars(
        select(HistoryEvent).where(
            HistoryEvent.entity == "user",
            HistoryEvent.entity_id == "west-pat.west",
            HistoryEvent.institution_id == world.east.id,
        )
    ).all()
    assert any(e.field == "linked_account" and rule["name"] in (e.new or "") for e in history)
    assert any(e.field == "linked_account_rule" and e.new == rule["id"] for e in history)


def test_linking_twice_answers_60227(client: TestClient, world: NetworkWorld) -> None:
    assert world.link(client, "east_cdo", "WEST", "west-pat").status_code == 200
    again = world.link(client, "east_ua", "WEST", "west-pat")
    assert again.status_code == 400
    assert error_of(again) | {"trackingId": ""} == {
        "errorCode": "60227",
        "errorMessage": "Linked account for user already exists.",
        "trackingId": "",
    }


def test_linking_needs_a_user_group(client: TestClient, world: NetworkWorld) -> None:
    session = world.factory.session
    for row in session.scalars(select(CodeTableRow).where(CodeTableRow.institution_id == world.east.id)):
        row.is_default = False
    session.commit()
    response = world.link(client, "east_cdo", "WEST", "west-pat")
    assert response.status_code == 400
    assert error_of(response)["errorCode"] == "60232"
    assert world.link(client, "east_cdo", "NORTH", "north-pat").status_code == 400
    world.call(
        client,
        "east_ua",
        "PUT",
        "/api/v1/network/linked-account-rules/default",
        json={"output": {"user_group": "GUEST"}},
    )
    assert world.link(client, "east_cdo", "WEST", "west-pat").json()["user_group"]["value"] == "GUEST"


def test_linking_by_staff_without_a_desk_role_is_refused(client: TestClient, world: NetworkWorld) -> None:
    assert world.link(client, "east_staff", "WEST", "west-pat").status_code == 403


def test_network_blocks_are_copied_only_when_the_rule_says_so(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], copy_network_blocks=True))
    body = world.link(client, "east_cdo", "WEST", "west-pat").json()
    assert [(b["block_description"]["value"], b["segment_type"]) for b in body["user_block"]] == [
        ("Overdue fines in the network", "External")
    ]
    north = world.link(client, "east_cdo", "NORTH", "north-pat").json()
    assert north["user_block"] == []


def test_shared_fields_new_accounts_get_only_shared_ones(client: TestClient, world: NetworkWorld) -> None:
    world.link(client, "east_cdo", "NORTH", "north-pat")
    world.call(
        client,
        "west_ua",
        "PUT",
        "/api/v1/network/shared-fields",
        json={"row": [{"field": "email", "shared": False}, {"field": "identifiers", "shared": False}]},
    )
    body = world.link(client, "east_cdo", "WEST", "west-pat").json()
    assert body["contact_info"]["email"] == []
    assert body["user_identifier"] == []
    assert body["first_name"] == "Mary"
    assert body["contact_info"]["phone"][0]["phone_number"] == "+1 555 0100"


def test_shared_fields_existing_accounts_keep_what_they_have(client: TestClient, world: NetworkWorld) -> None:
    world.link(client, "east_cdo", "WEST", "west-pat")
    world.call(
        client, "west_ua", "PUT", "/api/v1/network/shared-fields", json={"row": [{"field": "email", "shared": False}]}
    )
    session = world.factory.session
    world["west_pat"].email = "new@west.example.edu"
    world["west_pat"].first_name = "Marie"
    session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    linked = _linked(world, world["west_pat"])
    assert linked.email == "mary@west.example.edu"  # not shared any more: kept as it was
    assert linked.first_name == "Marie"  # shared: refreshed


def test_consortial_id_peers_are_joined_not_created(client: TestClient, world: NetworkWorld) -> None:
    session = world.factory.session
    world.parameter(world.east, "consortial_id_type", "UNIV_ID")
    local = world.factory.user(
        world.east,
        "east-mary",
        record_type="PUBLIC",
        last_name="Walker",
        user_group="UNDERGRAD",
        identifiers=(("UNIV_ID", "WU-1"),),
    )
    session.commit()
    response = world.link(client, "east_cdo", "WEST", "west-pat")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["primary_id"] == "east-mary"
    assert body["account_type"]["value"] == "INTERNAL"
    assert body["linking_id"] == "WU-1"
    assert (
        session.scalar(select(User.id).where(User.institution_id == world.east.id, User.primary_id == "west-pat.west"))
        is None
    )
    # Peers: neither is primary, so neither refresh nor block copying happens.
    world["west_pat"].first_name = "Changed"
    session.commit()
    refused = world.call(client, "east_cdo", "POST", "/almaws/v1/users/east-mary", params={"op": "refresh"})
    assert refused.status_code == 400
    assert error_of(refused)["errorCode"] == "60230"
    session.expire_all()
    assert session.get(User, local.id).first_name == "Test"  # type: ignore[union-attr]


def test_refresh_keeps_the_group_of_an_active_account(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], "WALKIN"))
    world.link(client, "east_cdo", "WEST", "west-pat")
    rule_id = world.get(client, "east_ua", "/api/v1/network/linked-account-rules").json()["rule"][0]["id"]
    world.call(
        client, "east_ua", "PUT", f"/api/v1/network/linked-account-rules/{rule_id}", json=rule_body(["WEST"], "GUEST")
    )
    assert _refresh(client, world, "west-pat.west") == 204
    assert _linked(world, world["west_pat"]).user_group == "WALKIN"


def test_refresh_reapplies_the_group_of_an_expired_account(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], "WALKIN", expiry={"type": "RELATIVE", "offset": 0, "unit": "DAYS"}))
    world.link(client, "east_cdo", "WEST", "west-pat")
    rule_id = world.get(client, "east_ua", "/api/v1/network/linked-account-rules").json()["rule"][0]["id"]
    world.call(
        client,
        "east_ua",
        "PUT",
        f"/api/v1/network/linked-account-rules/{rule_id}",
        json=rule_body(["WEST"], "GUEST", expiry={"type": "RELATIVE", "offset": 0, "unit": "DAYS"}),
    )
    linked = _linked(world, world["west_pat"])
    linked.expiry_date = days(-1)
    world.factory.session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    linked = _linked(world, world["west_pat"])
    assert linked.user_group == "GUEST"
    assert linked.expiry_date == world["west_pat"].expiry_date


def test_refresh_flags_decide_whether_dates_are_recalculated(client: TestClient, world: NetworkWorld) -> None:
    relative = {"type": "RELATIVE", "offset": 0, "unit": "DAYS"}
    purge = {"type": "RELATIVE", "offset": 10, "unit": "DAYS"}
    world.rule(client, rule_body(["WEST"], expiry=relative, purge=purge))
    world.rule(client, rule_body(["NORTH"], expiry=relative, purge=purge, refresh_expiry=True, refresh_purge=True))
    world.link(client, "east_cdo", "WEST", "west-pat")
    world.link(client, "east_cdo", "NORTH", "north-pat")
    session = world.factory.session
    world["west_pat"].expiry_date = days(300)
    world["north_pat"].expiry_date = days(300)
    session.commit()
    for primary_id in ("west-pat", "north-pat"):
        assert _refresh(client, world, f"{primary_id}.{primary_id.split('-')[0]}") == 204
    west, north = _linked(world, world["west_pat"]), _linked(world, world["north_pat"])
    assert west.expiry_date == days(100)  # Refresh Expiry Date no: kept
    assert west.purge_date == days(110)
    assert north.expiry_date == days(300)  # yes: recalculated
    assert north.purge_date == days(310)


def test_refresh_flag_for_the_purge_date_alone(client: TestClient, world: NetworkWorld) -> None:
    relative = {"type": "RELATIVE", "offset": 0, "unit": "DAYS"}
    world.rule(
        client,
        rule_body(
            ["WEST"], expiry=relative, purge={"type": "RELATIVE", "offset": 5, "unit": "DAYS"}, refresh_purge=True
        ),
    )
    world.link(client, "east_cdo", "WEST", "west-pat")
    linked = _linked(world, world["west_pat"])
    linked.expiry_date = days(50)  # a local change of the expiry date
    world.factory.session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    linked = _linked(world, world["west_pat"])
    assert linked.expiry_date == days(50)
    assert linked.purge_date == days(55)


def test_refresh_recreates_network_blocks_when_copying_is_on(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], copy_network_blocks=True))
    world.link(client, "east_cdo", "WEST", "west-pat")
    session = world.factory.session
    linked = _linked(world, world["west_pat"])
    session.add(UserBlock(user_id=linked.id, description="Local note", network=False))
    source_block = session.scalars(
        select(UserBlock).where(UserBlock.user_id == world["west_pat"].id, UserBlock.network.is_(True))
    ).one()
    source_block.description = "Fines paid late"
    session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    blocks = sorted((b.description, b.network) for b in _linked(world, world["west_pat"]).blocks)
    assert blocks == [("Fines paid late", True), ("Local note", False)]


def test_refresh_leaves_blocks_alone_when_copying_is_off(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], copy_network_blocks=True))
    world.link(client, "east_cdo", "WEST", "west-pat")
    rule_id = world.get(client, "east_ua", "/api/v1/network/linked-account-rules").json()["rule"][0]["id"]
    world.call(client, "east_ua", "PUT", f"/api/v1/network/linked-account-rules/{rule_id}", json=rule_body(["WEST"]))
    session = world.factory.session
    session.add(UserBlock(user_id=world["west_pat"].id, description="Another network block", network=True))
    session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    assert [b.description for b in _linked(world, world["west_pat"]).blocks] == ["Overdue fines in the network"]


def test_refresh_never_touches_the_patron_role_expiry(client: TestClient, world: NetworkWorld) -> None:
    relative = {"type": "RELATIVE", "offset": 0, "unit": "DAYS"}
    world.rule(client, rule_body(["WEST"], expiry=relative, refresh_expiry=True))
    world.link(client, "east_cdo", "WEST", "west-pat")
    world["west_pat"].expiry_date = days(400)
    world.factory.session.commit()
    assert _refresh(client, world, "west-pat.west") == 204
    linked = _linked(world, world["west_pat"])
    assert linked.expiry_date == days(400)
    assert [r.expiry_date for r in linked.roles if r.role_type == "PATRON"] == [days(100)]


def test_refresh_of_what_is_not_a_linked_account(client: TestClient, world: NetworkWorld) -> None:
    response = world.call(client, "east_cdo", "POST", "/almaws/v1/users/east-pat", params={"op": "refresh"})
    assert response.status_code == 400
    assert error_of(response)["errorCode"] == "60229"
    assert world.call(client, "east_cdo", "POST", "/almaws/v1/users/east-pat", params={"op": "nope"}).status_code == 400
    assert _refresh(client, world, "nobody") == 404
    assert _refresh(client, world, "east-pat", who="east_staff") == 404


def test_walk_in_loan_creates_the_linked_account_first(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["WEST"], resource_sharing_library="EAST_L1"))
    body = {"source_institution": "WEST", "source_user_id": "west-pat", "item_barcode": "ITEM-1", "library": "EAST_L2"}
    response = world.call(client, "east_cdo", "POST", "/api/v1/network/walk-in/loans", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["loan"]["item_barcode"] == "ITEM-1"
    assert answer["loan"]["library"]["value"] == "EAST_L2"
    assert answer["loan"]["due_date"] == days(28).isoformat() + "Z"
    assert answer["user"]["account_type"]["value"] == "EXTERNAL"
    assert answer["user"]["rs_library"][0]["code"]["value"] == "EAST_L1"
    second = world.call(
        client, "east_cdo", "POST", "/api/v1/network/walk-in/loans", json={**body, "item_barcode": "ITEM-2"}
    )
    assert second.status_code == 200
    assert second.json()["user"]["primary_id"] == "west-pat.west"
    loans = world.get(client, "east_cdo", "/almaws/v1/users/west-pat.west/loans").json()
    assert loans["total_record_count"] == 2
    again = world.call(client, "east_cdo", "POST", "/api/v1/network/walk-in/loans", json=body)
    assert again.status_code == 400  # ITEM-1 is on loan
    bad_library = world.call(
        client, "east_cdo", "POST", "/api/v1/network/walk-in/loans", json={**body, "library": "WEST_L1"}
    )
    assert bad_library.status_code == 400
    assert "library" in error_of(bad_library)["errorMessage"]


def test_alma_loan_call_lends_to_a_user_of_the_institution(client: TestClient, world: NetworkWorld) -> None:
    made = world.call(
        client,
        "east_cdo",
        "POST",
        "/almaws/v1/users/east-pat/loans",
        params={"item_barcode": "B-9"},
        json={"library": {"value": "EAST_L1"}},
    )
    assert made.status_code == 200, made.text
    assert made.json()["item_barcode"] == "B-9"
    listed = world.get(client, "east_cdo", "/almaws/v1/users/east-pat/loans").json()
    assert listed["item_loan"][0]["library"]["value"] == "EAST_L1"
    missing = world.call(client, "east_cdo", "POST", "/almaws/v1/users/east-pat/loans", params={"item_barcode": "B-8"})
    assert missing.status_code == 400


def test_identifiers_already_used_here_are_not_copied(client: TestClient, world: NetworkWorld) -> None:
    world.factory.user(world.east, "east-other", identifiers=(("BARCODE", "W-1"),))
    world.factory.session.commit()
    body = world.link(client, "east_cdo", "WEST", "west-pat").json()
    assert [i["value"] for i in body["user_identifier"]] == ["WU-1"]
    owners = world.factory.session.scalars(
        select(UserIdentifier.user_id).where(
            UserIdentifier.value_key == "w-1", UserIdentifier.institution_id == world.east.id
        )
    ).all()
    assert len(owners) == 1
