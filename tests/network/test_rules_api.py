"""Linked account rules through `/api/v1/network/linked-account-rules` (CN-2, CN-3, R-4, P-6)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from consortia.audit.models import HistoryEvent
from consortia.network.models import LinkedAccountRule
from tests.network.conftest import NetworkWorld, error_of, rule_body

RULES = "/api/v1/network/linked-account-rules"


def _preview(client: TestClient, world: NetworkWorld, source: str, user: str) -> dict:  # type: ignore[type-arg]
    response = world.get(
        client, "east_cdo", "/api/v1/network/walk-in/preview", source_institution=source, source_user_id=user
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_list_ends_with_the_default_rule(client: TestClient, world: NetworkWorld) -> None:
    made = world.rule(client, rule_body(["WEST"]))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["position"] == 1
    assert body["default"] is False
    assert body["input"] == [{"parameter": "source_institution", "operator": "in", "value": ["WEST"]}]
    listed = world.get(client, "east_cdo", RULES).json()
    assert [r["id"] for r in listed["rule"]] == [body["id"], "default"]
    assert listed["rule"][-1]["default"] is True
    assert listed["rule"][-1]["position"] == 2


def test_rules_are_tried_in_order_first_match_wins(client: TestClient, world: NetworkWorld) -> None:
    first = world.rule(client, {**rule_body(["WEST"], "GUEST"), "name": "West guests"}).json()
    world.rule(client, {**rule_body(["WEST", "NORTH"], "WALKIN"), "name": "Everyone"})
    seen = _preview(client, world, "WEST", "west-pat")
    assert seen["rule"] == {"value": first["id"], "desc": "West guests"}
    assert seen["user_group"]["value"] == "GUEST"
    assert "Source Institution in WEST" in seen["reason"]
    assert _preview(client, world, "NORTH", "north-pat")["user_group"]["value"] == "WALKIN"


def test_default_rule_applies_when_no_rule_holds(client: TestClient, world: NetworkWorld) -> None:
    world.rule(client, rule_body(["NORTH"], "GUEST"))
    put = world.call(
        client, "east_ua", "PUT", f"{RULES}/default", json={"output": {"user_group": "UNDERGRAD"}, "description": "d"}
    )
    assert put.status_code == 200, put.text
    seen = _preview(client, world, "WEST", "west-pat")
    assert seen["rule"] == {"value": "default", "desc": "Default rule"}
    assert seen["user_group"]["value"] == "UNDERGRAD"


@pytest.mark.parametrize(
    ("operator", "values", "west_matches"),
    [
        ("=", ["WEST"], True),
        ("=", ["NORTH"], False),
        ("!=", ["NORTH"], True),
        ("!=", ["WEST"], False),
        ("in", ["NORTH", "WEST"], True),
        ("in", ["NORTH"], False),
        ("not in", ["NORTH"], True),
        ("not in", ["WEST", "NORTH"], False),
    ],
)
def test_each_operator(
    client: TestClient, world: NetworkWorld, operator: str, values: list[str], west_matches: bool
) -> None:
    assert world.rule(client, rule_body(values, "GUEST", operator)).status_code == 201
    seen = _preview(client, world, "WEST", "west-pat")
    assert (seen["rule"]["value"] != "default") is west_matches


@pytest.mark.parametrize(
    ("expiry", "purge"),
    [
        ({"type": "NONE"}, {"type": "NONE"}),
        ({"type": "ABSOLUTE", "date": "2031-05-13"}, {"type": "ABSOLUTE", "date": "2032-01-01"}),
        ({"type": "RELATIVE", "offset": 0, "unit": "DAYS"}, {"type": "RELATIVE", "offset": 1, "unit": "WEEKS"}),
        ({"type": "RELATIVE", "offset": -10, "unit": "DAYS"}, {"type": "NONE"}),
        ({"type": "RELATIVE", "offset": 2, "unit": "WEEKS"}, {"type": "RELATIVE", "offset": 3, "unit": "DAYS"}),
        ({"type": "RELATIVE", "offset": 1, "unit": "MONTHS"}, {"type": "RELATIVE", "offset": 2, "unit": "MONTHS"}),
        ({"type": "RELATIVE", "offset": -1, "unit": "YEARS"}, {"type": "RELATIVE", "offset": 1, "unit": "YEARS"}),
        ({"type": "NONE"}, {"type": "RELATIVE", "offset": 1, "unit": "WEEKS"}),
    ],
)
def test_each_date_form(client: TestClient, world: NetworkWorld, expiry: dict, purge: dict) -> None:  # type: ignore[type-arg]
    """Expiry: none, absolute, or the source expiry ± days/weeks/months/years; purge: none, absolute, or a
    period after the linked account's expiry (none when it has no expiry)."""
    source = world["west_pat"].expiry_date
    assert source is not None

    def expected(spec: dict, base: dt.date | None) -> dt.date | None:  # type: ignore[type-arg]
        if spec["type"] == "ABSOLUTE":
            return dt.date.fromisoformat(spec["date"])
        if spec["type"] == "RELATIVE" and base is not None:
            return _shift(base, spec["offset"], spec["unit"])
        return None

    linked = expected(expiry, source)
    purge_day = expected(purge, linked)
    made = world.rule(client, rule_body(["WEST"], expiry=expiry, purge=purge))
    assert made.status_code == 201, made.text
    seen = _preview(client, world, "WEST", "west-pat")
    assert seen["expiry_date"] == (linked.isoformat() + "Z" if linked else None)
    assert seen["purge_date"] == (purge_day.isoformat() + "Z" if purge_day else None)


def _shift(day: dt.date, offset: int, unit: str) -> dt.date:
    """Calendar arithmetic written independently of the service's."""
    if unit == "DAYS":
        return day + dt.timedelta(days=offset)
    if unit == "WEEKS":
        return day + dt.timedelta(days=7 * offset)
    months = offset * 12 if unit == "YEARS" else offset
    year, month = divmod(day.month - 1 + months, 12)
    target_year, target_month = day.year + year, month + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(target_year, target_month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("no day")


def test_month_ends_stay_in_the_month() -> None:
    from consortia.network.rules import shift

    assert shift(dt.date(2027, 1, 31), 1, "MONTHS") == dt.date(2027, 2, 28)
    assert shift(dt.date(2028, 2, 29), 1, "YEARS") == dt.date(2029, 2, 28)
    assert shift(dt.date(2027, 3, 31), -1, "MONTHS") == dt.date(2027, 2, 28)


def test_relative_purge_counts_from_the_linked_expiry(client: TestClient, world: NetworkWorld) -> None:
    from consortia.network.rules import shift

    source = world["west_pat"].expiry_date
    assert source is not None
    body = rule_body(
        ["WEST"],
        expiry={"type": "RELATIVE", "offset": 1, "unit": "MONTHS"},
        purge={"type": "RELATIVE", "offset": 1, "unit": "WEEKS"},
    )
    world.rule(client, body)
    seen = _preview(client, world, "WEST", "west-pat")
    linked = shift(source, 1, "MONTHS")
    assert seen["expiry_date"] == linked.isoformat() + "Z"
    assert seen["purge_date"] == shift(linked, 1, "WEEKS").isoformat() + "Z"


def test_output_parameters_are_kept(client: TestClient, world: NetworkWorld) -> None:
    output = {
        "user_group": "WALKIN",
        "expiry": {"type": "RELATIVE", "offset": 2, "unit": "MONTHS"},
        "purge": {"type": "ABSOLUTE", "date": "2030-01-01"},
        "refresh_expiry": True,
        "refresh_purge": True,
        "resource_sharing_library": "east_l1",
        "copy_network_blocks": True,
    }
    made = world.rule(client, {**rule_body(["WEST"]), "output": output}).json()
    got = world.get(client, "east_cdo", f"{RULES}/{made['id']}").json()
    assert got["output"] == {
        **output,
        "expiry": {"type": "RELATIVE", "date": None, "offset": 2, "unit": "MONTHS"},
        "purge": {"type": "ABSOLUTE", "date": "2030-01-01", "offset": None, "unit": None},
        "resource_sharing_library": "EAST_L1",
    }
    assert _preview(client, world, "WEST", "west-pat")["resource_sharing_library"]["value"] == "EAST_L1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": [{"parameter": "source_institution", "operator": "in", "value": ["SOUTH"]}]}, "input[0].value"),
        ({"input": [{"parameter": "source_institution", "operator": "in", "value": ["NOPE"]}]}, "input[0].value"),
        ({"input": [{"parameter": "source_institution", "operator": "in", "value": ["EAST"]}]}, "input[0].value"),
        ({"input": [{"parameter": "source_institution", "operator": "=", "value": ["WEST", "NORTH"]}]}, "input[0]"),
        ({"input": [{"parameter": "source_institution", "operator": "like", "value": ["WEST"]}]}, "input.0.operator"),
        ({"input": []}, "input"),
        ({"output": {"user_group": "NOPE"}}, "output.user_group"),
        ({"output": {"user_group": ""}}, "output.user_group"),
        (
            {"output": {"user_group": "WALKIN", "expiry": {"type": "ABSOLUTE", "date": "2027-02-30"}}},
            "output.expiry.date",
        ),
        ({"output": {"user_group": "WALKIN", "expiry": {"type": "ABSOLUTE"}}}, "output.expiry.date"),
        ({"output": {"user_group": "WALKIN", "expiry": {"type": "RELATIVE", "offset": 5}}}, "output.expiry.unit"),
        (
            {"output": {"user_group": "WALKIN", "expiry": {"type": "RELATIVE", "offset": 5000, "unit": "DAYS"}}},
            "output.expiry.offset",
        ),
        (
            {"output": {"user_group": "WALKIN", "purge": {"type": "RELATIVE", "offset": -1, "unit": "DAYS"}}},
            "output.purge.offset",
        ),
        (
            {"output": {"user_group": "WALKIN", "resource_sharing_library": "WEST_L1"}},
            "output.resource_sharing_library",
        ),
        ({"name": ""}, "name"),
    ],
)
def test_bad_rules_answer_400_naming_the_field(
    client: TestClient,
    world: NetworkWorld,
    change: dict,
    field: str,  # type: ignore[type-arg]
) -> None:
    response = world.rule(client, {**rule_body(["WEST"]), **change})
    assert response.status_code == 400, response.text
    assert field in error_of(response)["errorMessage"]
    count = world.factory.session.scalar(select(func.count()).select_from(LinkedAccountRule))
    assert count == 0


def test_duplicate_delete_and_reorder(client: TestClient, world: NetworkWorld) -> None:
    a = world.rule(client, {**rule_body(["WEST"]), "name": "A"}).json()
    b = world.rule(client, {**rule_body(["NORTH"]), "name": "B"}).json()
    copy = world.call(client, "east_ua", "POST", f"{RULES}/{a['id']}/duplicate")
    assert copy.status_code == 201, copy.text
    assert copy.json()["name"] == "A (copy)"
    assert copy.json()["position"] == 2
    order = [r["id"] for r in world.get(client, "east_ua", RULES).json()["rule"]]
    assert order == [a["id"], copy.json()["id"], b["id"], "default"]
    moved = world.call(client, "east_ua", "PUT", f"{RULES}/order", json={"ids": [b["id"], copy.json()["id"], a["id"]]})
    assert moved.status_code == 200, moved.text
    assert [r["name"] for r in moved.json()["rule"]] == ["B", "A (copy)", "A", "Default rule"]
    assert world.call(client, "east_ua", "DELETE", f"{RULES}/{copy.json()['id']}").status_code == 204
    after = world.get(client, "east_ua", RULES).json()["rule"]
    assert [(r["name"], r["position"]) for r in after] == [("B", 1), ("A", 2), ("Default rule", 3)]


def test_default_rule_is_never_deleted_or_moved(client: TestClient, world: NetworkWorld) -> None:
    a = world.rule(client, rule_body(["WEST"])).json()
    assert world.call(client, "east_ua", "DELETE", f"{RULES}/default").status_code == 400
    moved = world.call(client, "east_ua", "PUT", f"{RULES}/order", json={"ids": ["default", a["id"]]})
    assert moved.status_code == 400
    assert "default" in error_of(moved)["errorMessage"]
    partial = world.call(client, "east_ua", "PUT", f"{RULES}/order", json={"ids": []})
    assert partial.status_code == 400


def test_two_administrators_at_once_one_wins(client: TestClient, world: NetworkWorld) -> None:
    a = world.rule(client, rule_body(["WEST"])).json()
    b = world.rule(client, rule_body(["NORTH"])).json()
    version = world.get(client, "east_ua", RULES).json()["version"]
    first = world.call(client, "east_ua", "PUT", f"{RULES}/order", json={"ids": [b["id"], a["id"]], "version": version})
    assert first.status_code == 200
    second = world.call(
        client, "east_gsa", "PUT", f"{RULES}/order", json={"ids": [a["id"], b["id"]], "version": version}
    )
    assert second.status_code == 409
    a = world.get(client, "east_ua", f"{RULES}/{a['id']}").json()
    edit = world.call(
        client,
        "east_ua",
        "PUT",
        f"{RULES}/{a['id']}",
        json={**rule_body(["WEST"]), "name": "Edited", "version": a["version"]},
    )
    assert edit.status_code == 200, edit.text
    stale = world.call(
        client, "east_gsa", "PUT", f"{RULES}/{a['id']}", json={**rule_body(["NORTH"]), "version": a["version"]}
    )
    assert stale.status_code == 409
    assert world.get(client, "east_ua", f"{RULES}/{a['id']}").json()["input"][0]["value"] == ["WEST"]


@pytest.mark.parametrize(
    ("who", "status"), [("east_ua", 201), ("east_gsa", 201), ("east_cdo", 403), ("east_staff", 404), ("operator", 400)]
)
def test_only_administrators_change_rules(client: TestClient, world: NetworkWorld, who: str, status: int) -> None:
    assert world.rule(client, rule_body(["WEST"]), who=who).status_code == status


def test_rules_of_another_institution_answer_like_unknown_ones(client: TestClient, world: NetworkWorld) -> None:
    west_rule = world.rule(client, rule_body(["EAST"]), who="west_ua").json()
    mine = world.get(client, "east_ua", f"{RULES}/{west_rule['id']}")
    unknown = world.get(client, "east_ua", f"{RULES}/999999")
    assert mine.status_code == unknown.status_code == 404
    assert error_of(mine)["errorMessage"].replace(west_rule["id"], "X") == error_of(unknown)["errorMessage"].replace(
        "999999", "X"
    )
    assert world.call(client, "east_ua", "DELETE", f"{RULES}/{west_rule['id']}").status_code == 404


def test_every_change_is_in_history(client: TestClient, world: NetworkWorld) -> None:
    a = world.rule(client, rule_body(["WEST"])).json()
    world.call(client, "east_ua", "PUT", f"{RULES}/{a['id']}", json={**rule_body(["NORTH"]), "name": "Renamed"})
    history = world.get(client, "east_ua", "/api/v1/history", entity="rule", id=a["id"]).json()["event"]
    fields = [(e["field"], e["new"]) for e in history]
    assert ("name", "Renamed") in fields
    assert any(f == "input" and "NORTH" in (n or "") for f, n in fields)
    world.call(client, "east_ua", "PUT", f"{RULES}/default", json={"output": {"user_group": "GUEST"}})
    default = world.get(client, "east_ua", "/api/v1/history", entity="rule", id="default").json()["event"]
    assert "GUEST" in default[-1]["new"]
    rows = world.factory.session.scalars(select(HistoryEvent).where(HistoryEvent.entity == "rule")).all()
    assert all(row.actor_id == world["east_ua"].id for row in rows)
