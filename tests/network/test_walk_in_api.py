"""The walk-in search and preview (CN-4, CN-6 .. CN-8, CN-13) and the network tables' API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.network import service
from consortia.platform.models import User
from tests.network.conftest import NetworkWorld, error_of

SEARCH = "/api/v1/network/walk-in/search"
PREVIEW = "/api/v1/network/walk-in/preview"


def _found(client: TestClient, world: NetworkWorld, who: str = "east_cdo", **params: str) -> list[str]:
    response = world.get(client, who, SEARCH, **params)
    assert response.status_code == 200, response.text
    return [p["source_user_id"] for p in response.json().get("patron", [])]


def _put(client: TestClient, world: NetworkWorld, who: str, table: str, rows: list[dict]) -> None:  # type: ignore[type-arg]
    response = world.call(client, who, "PUT", f"/api/v1/network/{table}", json={"row": rows})
    assert response.status_code == 200, response.text


def test_search_by_identifier_shows_the_patron(client: TestClient, world: NetworkWorld) -> None:
    response = world.get(client, "east_cdo", SEARCH, identifier="w-1")
    body = response.json()
    assert body["total_record_count"] == 1
    patron = body["patron"][0]
    assert patron["source_institution"] == {"value": "WEST", "desc": "Western Tech"}
    assert patron["source_user_id"] == "west-pat"
    assert patron["full_name"] == "Mary Walker"
    assert patron["user_group"] == {"value": "UNDERGRAD", "desc": "Undergraduate"}
    assert patron["expiry_date"] == world["west_pat"].expiry_date.isoformat() + "Z"  # type: ignore[union-attr]
    assert {"id_type": "BARCODE", "value": "W-1"} in patron["identifiers"]
    assert patron["linked_here"] is False
    assert patron["linked_user_id"] is None


def test_results_obey_status_membership_and_own_institution(client: TestClient, world: NetworkWorld) -> None:
    assert _found(client, world, identifier="W-3") == []  # inactive
    assert _found(client, world, identifier="S-1") == []  # outside the networks
    assert _found(client, world, identifier="east-pat") == []  # own institution
    assert _found(client, world, identifier="N-1") == ["north-pat"]
    assert _found(client, world, identifier="west-pat") == ["west-pat"]  # primary id, both tables empty


def test_restricted_groups_are_hidden_from_the_network(client: TestClient, world: NetworkWorld) -> None:
    assert _found(client, world, identifier="W-2") == ["west-guest"]
    _put(client, world, "west_ua", "restricted-user-groups", [{"code": "GUEST", "description": "Visitors"}])
    assert _found(client, world, identifier="W-2") == []
    # The restriction is WEST's: it says nothing about EAST's own GUEST patrons or other groups.
    assert _found(client, world, identifier="W-1") == ["west-pat"]


def test_searchable_identifiers_of_the_home_institution(client: TestClient, world: NetworkWorld) -> None:
    _put(client, world, "west_ua", "searchable-identifiers", [{"code": "BARCODE", "description": ""}])
    assert _found(client, world, identifier="W-1") == ["west-pat"]
    assert _found(client, world, identifier="WU-1") == []  # a type not in WEST's table
    assert _found(client, world, identifier="west-pat") == []  # the primary id no longer takes part
    assert _found(client, world, identifier="WU-4") == []  # west-nobar has no BARCODE: not returned at all
    patron = world.get(client, "east_cdo", SEARCH, identifier="W-1").json()["patron"][0]
    assert patron["identifiers"] == [{"id_type": "BARCODE", "value": "W-1"}]


def test_searchable_identifiers_of_the_searching_institution(client: TestClient, world: NetworkWorld) -> None:
    _put(client, world, "east_ua", "searchable-identifiers", [{"code": "UNIV_ID", "description": ""}])
    assert _found(client, world, identifier="WU-1") == ["west-pat"]
    assert _found(client, world, identifier="W-1") == []
    assert _found(client, world, identifier="N-1") == []  # north-pat has no UNIV_ID
    preview = world.get(client, "east_cdo", PREVIEW, source_institution="NORTH", source_user_id="north-pat")
    assert preview.status_code == 404


def test_search_by_name_only_where_the_home_institution_allows_it(client: TestClient, world: NetworkWorld) -> None:
    assert _found(client, world, name="Walker") == []
    world.parameter(world.west, "fulfillment_network_search_by_all", True)
    assert _found(client, world, name="walker") == ["west-pat"]  # not the inactive one, not NORTH's
    assert _found(client, world, name="Mary Walker") == ["west-pat"]
    assert _found(client, world, name="Nora Walker") == []
    world.parameter(world.north, "fulfillment_network_search_by_all", True)
    assert sorted(_found(client, world, name="WALKER")) == ["north-pat", "west-pat"]


def test_a_search_with_many_matches_counts_up_to_the_cap(
    client: TestClient, world: NetworkWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N-4: the desk counts the matches with its page; without a page it counts up to `COUNT_CAP` and
    says the count is not exact beyond it."""
    world.parameter(world.west, "fulfillment_network_search_by_all", True)
    world.parameter(world.north, "fulfillment_network_search_by_all", True)
    first = world.get(client, "east_cdo", SEARCH, name="Walker", limit="1").json()
    assert (first["total_record_count"], first["total_is_exact"]) == (2, True)
    monkeypatch.setattr(service, "COUNT_CAP", 1)
    capped = world.get(client, "east_cdo", SEARCH, name="Walker", limit="0").json()
    assert (capped["total_record_count"], capped["total_is_exact"]) == (1, False)
    second_page = world.get(client, "east_cdo", SEARCH, name="Walker", limit="1", offset="1").json()
    assert (second_page["total_record_count"], second_page["total_is_exact"]) == (2, True)
    assert len(second_page["patron"]) == 1


def test_search_needs_exactly_one_of_identifier_or_name(client: TestClient, world: NetworkWorld) -> None:
    for params in ({}, {"identifier": "W-1", "name": "Walker"}, {"identifier": "  "}):
        response = world.get(client, "east_cdo", SEARCH, **params)
        assert response.status_code == 400


@pytest.mark.parametrize(
    ("who", "status"),
    [("east_cdo", 200), ("east_ua", 200), ("east_gsa", 200), ("east_staff", 403), ("east_pat", 403), ("operator", 400)],
)
def test_who_works_the_desk(client: TestClient, world: NetworkWorld, who: str, status: int) -> None:
    assert world.get(client, who, SEARCH, identifier="W-1").status_code == status


def test_every_patron_the_desk_may_not_serve_answers_like_an_unknown_one(
    client: TestClient, world: NetworkWorld
) -> None:
    _put(client, world, "west_ua", "restricted-user-groups", [{"code": "GUEST", "description": ""}])
    answers = []
    for source, user in (
        ("WEST", "west-inactive"),
        ("WEST", "west-guest"),
        ("SOUTH", "south-pat"),
        ("WEST", "nobody"),
        ("NOPE", "nobody"),
        ("EAST", "east-pat"),
    ):
        for response in (
            world.get(client, "east_cdo", PREVIEW, source_institution=source, source_user_id=user),
            world.link(client, "east_cdo", source, user),
        ):
            error = error_of(response)
            text = error["errorMessage"].replace(user, "U").replace(source, "I")
            answers.append((response.status_code, error["errorCode"], text))
    assert len(set(answers)) == 1, answers
    assert answers[0][:2] == (404, "60226")


def test_preview_names_the_rule_the_reason_and_the_results(client: TestClient, world: NetworkWorld) -> None:
    response = world.get(client, "east_cdo", PREVIEW, source_institution="WEST", source_user_id="west-pat")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rule"] == {"value": "default", "desc": "Default rule"}
    assert "default" in body["reason"]
    assert set(body) >= {"user_group", "expiry_date", "purge_date", "resource_sharing_library"}


# --- the tables --------------------------------------------------------------------------------


def test_tables_round_trip_with_history(client: TestClient, world: NetworkWorld) -> None:
    _put(client, world, "east_ua", "restricted-user-groups", [{"code": "guest", "description": "Visitors"}])
    got = world.get(client, "east_cdo", "/api/v1/network/restricted-user-groups").json()
    assert got["row"] == [{"code": "GUEST", "description": "Visitors", "label": "Guest"}]
    _put(client, world, "east_gsa", "searchable-identifiers", [{"code": "BARCODE", "description": "Cards"}])
    assert world.get(client, "east_cdo", "/api/v1/network/searchable-identifiers").json()["row"][0]["code"] == "BARCODE"
    _put(client, world, "east_ua", "shared-fields", [{"field": "email", "shared": False}])
    fields = {
        r["field"]: r["shared"] for r in world.get(client, "east_ua", "/api/v1/network/shared-fields").json()["row"]
    }
    assert fields["email"] is False
    assert fields["first_name"] is True
    assert set(fields) == {
        "first_name",
        "middle_name",
        "last_name",
        "email",
        "phone",
        "address",
        "birth_date",
        "job_category",
        "identifiers",
        "preferred_language",
    }
    history = world.get(client, "east_ua", "/api/v1/history", entity="network_table", id="shared-fields").json()
    assert history["event"][-1]["new"] == "email: not shared"
    restricted = world.get(client, "east_ua", "/api/v1/history", entity="network_table", id="restricted-user-groups")
    assert restricted.json()["event"][0]["new"] == "GUEST (Visitors)"


@pytest.mark.parametrize(
    ("table", "rows", "field"),
    [
        ("restricted-user-groups", [{"code": "NOPE"}], "row[0].code"),
        ("restricted-user-groups", [{"code": "GUEST"}, {"code": "guest"}], "row[1].code"),
        ("searchable-identifiers", [{"code": "PASSPORT"}], "row[0].code"),
        ("shared-fields", [{"field": "password", "shared": True}], "row[0].field"),
        ("shared-fields", [{"field": "email", "shared": "maybe"}], "row.0.shared"),
    ],
)
def test_bad_table_rows(client: TestClient, world: NetworkWorld, table: str, rows: list, field: str) -> None:  # type: ignore[type-arg]
    response = world.call(client, "east_ua", "PUT", f"/api/v1/network/{table}", json={"row": rows})
    assert response.status_code == 400
    assert field in error_of(response)["errorMessage"]


@pytest.mark.parametrize(
    ("who", "status"), [("east_ua", 200), ("east_gsa", 200), ("east_cdo", 403), ("east_staff", 404), ("west_ua", 200)]
)
def test_only_administrators_change_tables(client: TestClient, world: NetworkWorld, who: str, status: int) -> None:
    response = world.call(client, who, "PUT", "/api/v1/network/restricted-user-groups", json={"row": []})
    assert response.status_code == status


@pytest.mark.parametrize("separate_arms", [True, False], ids=["arms", "nested"])
def test_the_name_filter_finds_the_same_patrons_in_both_shapes(world: NetworkWorld, separate_arms: bool) -> None:
    """CN-7's name filter, in the shape of either planner: usual capitalisations, first names by prefix, a
    last name of several words matched whole, a first name that is not plain ASCII."""
    people = {
        "w-leo": ("Leo", "Wong"),
        "w-leonie": ("leonie", "WONG"),
        "w-leah": ("Leah", "Wong"),
        "w-vandijk": ("Anna", "Van Dijk"),
        "w-dijk": ("Van", "Dijk"),
        "w-lea": ("Léa", "Wong"),
    }
    for primary_id, (first, last) in people.items():
        world.factory.user(world.west, primary_id, first_name=first, last_name=last, user_group="UNDERGRAD")
    session = world.factory.session

    def found(name: str) -> set[str]:
        condition = service._name_filter(name, separate_arms=separate_arms)
        query = select(User.primary_id).where(User.institution_id == world.west.id, condition)
        return set(session.scalars(query))

    assert found("Wong") == {"w-leo", "w-leonie", "w-leah", "w-lea"}
    assert found("leo wong") == {"w-leo", "w-leonie"}
    assert found("LEO WONG") == {"w-leo", "w-leonie"}
    assert found("Lea Wong") == {"w-leah"}
    assert found("Léa Wong") == {"w-lea"}
    assert found("Van Dijk") == {"w-vandijk", "w-dijk"}
    assert found("Anna Van Dijk") == set()  # first names by prefix, last name the last word
    assert found("Z Wong") == set()
