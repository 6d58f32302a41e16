"""The network pages: rules (add, move, drag-and-drop order, duplicate, delete, default, View mode), tables and
the walk-in desk."""

from __future__ import annotations

import re
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consortia.audit.models import HistoryEvent
from consortia.network import rules
from consortia.network.models import LinkedAccountRule, RestrictedUserGroup, SharedField
from consortia.platform.models import User
from tests.factories import PASSWORD
from tests.network.conftest import NetworkWorld, rule_body

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(client: TestClient, world: NetworkWorld, who: str) -> str:
    world.factory.session.commit()
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": world[who].primary_id, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/network/walk-in") if who == "east_cdo" else client.get("/network/rules")
    return CSRF.search(home.text).group(1)  # type: ignore[union-attr]


def _rule_form(token: str, name: str, source: str, group: str = "WALKIN") -> dict[str, str]:
    return {"csrf_token": token, "name": name, "description": "", "operator": "in", "value": source,
            "user_group": group, "expiry_type": "NONE", "purge_type": "NONE"}  # fmt: skip


def _names(world: NetworkWorld) -> list[str]:
    session = world.factory.session
    session.expire_all()
    return list(
        session.scalars(
            select(LinkedAccountRule.name)
            .where(LinkedAccountRule.institution_id == world.east.id)
            .order_by(LinkedAccountRule.position)
        )
    )


def test_rules_page_add_move_duplicate_delete(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    for name, source in (("West", "WEST"), ("North", "NORTH")):
        response = client.post("/network/rules/new", data=_rule_form(token, name, source), follow_redirects=False)
        assert response.status_code == 303, response.text
    page = client.get("/network/rules")
    assert "West" in page.text
    assert "Default rule" in page.text
    north = world.factory.session.scalars(select(LinkedAccountRule).where(LinkedAccountRule.name == "North")).one()
    moved = client.post(f"/network/rules/{north.id}/move", data={"csrf_token": token, "direction": "up"})
    assert moved.status_code == 200
    assert _names(world) == ["North", "West"]
    client.post(f"/network/rules/{north.id}/duplicate", data={"csrf_token": token})
    assert _names(world) == ["North", "North (copy)", "West"]
    client.post(f"/network/rules/{north.id}/delete", data={"csrf_token": token})
    assert _names(world) == ["North (copy)", "West"]


def test_a_stale_move_is_refused(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    client.post("/network/rules/new", data=_rule_form(token, "West", "WEST"))
    client.post("/network/rules/new", data=_rule_form(token, "North", "NORTH"))
    north = world.factory.session.scalars(select(LinkedAccountRule).where(LinkedAccountRule.name == "North")).one()
    stale = client.post(
        f"/network/rules/{north.id}/move", data={"csrf_token": token, "direction": "up", "version": "1"}
    )
    assert stale.status_code == 409
    assert _names(world) == ["West", "North"]


def _ids(world: NetworkWorld) -> dict[str, str]:
    session = world.factory.session
    rows = session.execute(
        select(LinkedAccountRule.name, LinkedAccountRule.id).where(LinkedAccountRule.institution_id == world.east.id)
    )
    return {name: str(rule_id) for name, rule_id in rows}


def _order(client: TestClient, token: str, ids: list[str], version: int | None = None) -> httpx2.Response:
    data: dict[str, Any] = {"csrf_token": token, "id": ids}
    if version is not None:
        data["version"] = str(version)
    return client.post("/network/rules/order", data=data, follow_redirects=False)


def _rule_events(world: NetworkWorld) -> int:
    return world.factory.session.scalar(
        select(func.count()).select_from(HistoryEvent).where(HistoryEvent.entity == "rule")
    ) or 0  # fmt: skip


def test_the_dropped_order_is_saved_with_history(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    for name, source in (("West", "WEST"), ("North", "NORTH"), ("Both", "WEST")):
        client.post("/network/rules/new", data=_rule_form(token, name, source))
    page = client.get("/network/rules")
    assert 'id="rules-order"' in page.text
    assert page.text.count('draggable="true"') == 3  # the default rule's row is not draggable
    ids = _ids(world)
    version = rules.list_version(world.factory.session, world.east.id)
    response = _order(client, token, [ids["Both"], ids["West"], ids["North"]], version)
    assert response.status_code == 303
    assert _names(world) == ["Both", "West", "North"]
    moves = world.factory.session.scalars(
        select(HistoryEvent.new).where(
            HistoryEvent.entity == "rule", HistoryEvent.entity_id == ids["Both"], HistoryEvent.field == "position"
        )
    ).all()
    assert moves[-1] == "1"
    assert client.get(f"/network/rules/{ids['Both']}").text.count("<td>position</td>") == 2


def test_the_order_form_is_not_offered_in_view_mode_or_for_one_rule(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    client.post("/network/rules/new", data=_rule_form(token, "West", "WEST"))
    assert 'id="rules-order"' not in client.get("/network/rules").text  # one rule: nothing to reorder
    client.post("/network/rules/new", data=_rule_form(token, "North", "NORTH"))
    client.cookies.clear()
    _sign_in(client, world, "east_cdo")
    page = client.get("/network/rules")
    assert 'id="rules-order"' not in page.text
    assert 'draggable="true"' not in page.text


@pytest.mark.parametrize(
    "forged",
    ["another institution's rule", "a rule left out", "the default rule", "a rule twice", "no rule", "not an id"],
)
def test_a_forged_order_is_refused_and_changes_nothing(client: TestClient, world: NetworkWorld, forged: str) -> None:
    west_rule = world.rule(client, rule_body(["EAST"]), who="west_ua")
    assert west_rule.status_code == 201, west_rule.text
    token = _sign_in(client, world, "east_ua")
    for name, source in (("West", "WEST"), ("North", "NORTH")):
        client.post("/network/rules/new", data=_rule_form(token, name, source))
    ids = _ids(world)
    west_id = str(west_rule.json()["id"])
    orders = {
        "another institution's rule": [ids["North"], ids["West"], west_id],
        "a rule left out": [ids["North"]],
        "the default rule": [ids["North"], ids["West"], "default"],
        "a rule twice": [ids["North"], ids["West"], ids["West"]],
        "no rule": [],
        "not an id": [ids["North"], "1 OR 1=1"],
    }
    session = world.factory.session
    version = rules.list_version(session, world.east.id)
    events = _rule_events(world)

    response = _order(client, token, orders[forged], version)

    assert response.status_code == 400
    assert 'class="error" role="alert"' in response.text
    message = "the default rule is always last" if forged == "the default rule" else "exactly once"
    assert message in response.text
    assert 'id="rules"' in response.text  # the rules page again, with the error
    session.expire_all()
    assert _names(world) == ["West", "North"]
    assert rules.list_version(session, world.east.id) == version
    assert _rule_events(world) == events
    west_rules = session.scalars(select(LinkedAccountRule).where(LinkedAccountRule.institution_id == world.west.id))
    assert [(rule.name, rule.position) for rule in west_rules] == [("in EAST", 1)]


def test_a_stale_order_is_refused(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    for name, source in (("West", "WEST"), ("North", "NORTH")):
        client.post("/network/rules/new", data=_rule_form(token, name, source))
    ids = _ids(world)
    version = rules.list_version(world.factory.session, world.east.id)
    assert _order(client, token, [ids["North"], ids["West"]], version - 1).status_code == 409
    assert _names(world) == ["West", "North"]


def test_desk_staff_cannot_send_an_order(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    for name, source in (("West", "WEST"), ("North", "NORTH")):
        client.post("/network/rules/new", data=_rule_form(token, name, source))
    ids = _ids(world)
    client.cookies.clear()
    desk_token = _sign_in(client, world, "east_cdo")
    assert _order(client, desk_token, [ids["North"], ids["West"]]).status_code == 403
    assert _order(client, "forged", [ids["North"], ids["West"]]).status_code == 403
    assert _names(world) == ["West", "North"]


def test_bad_rule_form_shows_the_error_and_saves_nothing(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    response = client.post("/network/rules/new", data=_rule_form(token, "Bad", "SOUTH"))
    assert response.status_code == 400
    assert "input[0].value" in response.text
    bad_date = {**_rule_form(token, "Bad", "WEST"), "expiry_type": "ABSOLUTE", "expiry_date": "2027-02-30"}
    assert client.post("/network/rules/new", data=bad_date).status_code == 400
    assert _names(world) == []


def test_default_rule_page_saves(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_gsa")
    form = {"csrf_token": token, "description": "Everyone else", "user_group": "GUEST", "expiry_type": "RELATIVE",
            "expiry_offset": "1", "expiry_unit": "YEARS", "purge_type": "NONE"}  # fmt: skip
    assert client.post("/network/rules/default", data=form, follow_redirects=False).status_code == 303
    page = client.get("/network/rules/default")
    assert 'value="GUEST" selected' in page.text


def test_desk_staff_see_rules_in_view_mode(client: TestClient, world: NetworkWorld) -> None:
    _sign_in(client, world, "east_cdo")
    page = client.get("/network/rules")
    assert page.status_code == 200
    assert "View mode" in page.text
    assert "Add Rule" not in page.text


def test_table_pages(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_ua")
    added = client.post("/network/tables/restricted-user-groups", data={"csrf_token": token, "code": "GUEST",
                                                                         "description": "Visitors"})  # fmt: skip
    assert added.status_code == 200
    assert world.factory.session.scalars(select(RestrictedUserGroup.code)).all() == ["GUEST"]
    removed = client.post("/network/tables/restricted-user-groups", data={"csrf_token": token, "remove": "GUEST"})
    assert removed.status_code == 200
    world.factory.session.expire_all()
    assert world.factory.session.scalars(select(RestrictedUserGroup.code)).all() == []
    shared = {"csrf_token": token, **{f"shared_{f}": "true" for f in ("first_name", "last_name")}}
    assert client.post("/network/tables/shared-fields", data=shared).status_code == 200
    rows = dict(world.factory.session.execute(select(SharedField.field, SharedField.shared)).all())
    assert rows["email"] is False
    assert "first_name" not in rows
    assert client.get("/network/tables/searchable-identifiers").status_code == 200
    assert client.get("/network/tables/nope").status_code == 404


def test_desk_finds_previews_links_and_refreshes(client: TestClient, world: NetworkWorld) -> None:
    token = _sign_in(client, world, "east_cdo")
    page = client.get("/network/walk-in", params={"identifier": "W-1"})
    assert "Mary Walker" in page.text
    assert "Rule preview" in page.text
    assert "Default rule" in page.text
    linked = client.post("/network/walk-in/link", data={"csrf_token": token, "source_institution": "WEST",
                                                        "source_user_id": "west-pat"})  # fmt: skip
    assert linked.status_code == 200
    assert "Linked account west-pat.west created" in linked.text
    session = world.factory.session
    assert session.scalar(select(User.account_type).where(User.institution_id == world.east.id,
                                                          User.primary_id == "west-pat.west")) == "LINKED"  # fmt: skip
    again = client.post("/network/walk-in/link", data={"csrf_token": token, "source_institution": "WEST",
                                                       "source_user_id": "west-pat"})  # fmt: skip
    assert "refreshed" in again.text
    identified = client.post("/network/walk-in/identify", data={"csrf_token": token, "identifier": "W-1",
                                                                "find_other": "true"})  # fmt: skip
    assert "refreshed" in identified.text
    not_here = client.post("/network/walk-in/identify", data={"csrf_token": token, "identifier": "N-1",
                                                              "find_other": "true"})  # fmt: skip
    assert "Nora Walker" in not_here.text
    lent = client.post("/network/walk-in/loan", data={"csrf_token": token, "source_institution": "NORTH",
                                                      "source_user_id": "north-pat", "item_barcode": "I-1",
                                                      "library": "EAST_L1"})  # fmt: skip
    assert "Item I-1 lent to north-pat.north" in lent.text


def test_account_page_refresh(client: TestClient, world: NetworkWorld) -> None:
    world.link(client, "east_cdo", "WEST", "west-pat")
    token = _sign_in(client, world, "east_cdo")
    response = client.post("/network/linked-accounts/west-pat.west/refresh", data={"csrf_token": token})
    assert response.status_code == 200
    assert "refreshed" in response.text


@pytest.mark.parametrize("path", ["/network/walk-in", "/network/rules", "/network/tables/shared-fields"])
def test_pages_need_a_role(client: TestClient, world: NetworkWorld, path: str) -> None:
    world.users["east_pat2"] = world.factory.user(world.east, "east-pat2", record_type="PUBLIC")
    _sign_in_plain(client, world, "east_pat2")
    assert client.get(path).status_code in {403, 404}


def _sign_in_plain(client: TestClient, world: NetworkWorld, who: str) -> None:
    world.factory.session.commit()
    page = client.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": world[who].primary_id, "password": PASSWORD, "csrf_token": token})


def test_desk_results_come_in_pages(client: TestClient, world: NetworkWorld) -> None:
    world.parameter(world.west, "fulfillment_network_search_by_all", True)
    for n in range(11):
        world.factory.user(
            world.west, f"west-walker-{n:02}", record_type="PUBLIC", last_name="Walker",
            user_group="UNDERGRAD", identifiers=(("BARCODE", f"WW-{n}"),),
        )  # fmt: skip
    _sign_in(client, world, "east_cdo")
    first = client.get("/network/walk-in", params={"name": "Walker"})
    assert "Results (12)" in first.text
    assert "1 to 10 of 12" in first.text
    assert "Previous</a>" not in first.text
    following = re.search(r'href="(/network/walk-in\?[^"]+)">Next</a>', first.text)
    assert following is not None
    second = client.get(following.group(1).replace("&amp;", "&"))
    assert "11 to 12 of 12" in second.text
    assert "Next</a>" not in second.text
    assert "Previous</a>" in second.text
