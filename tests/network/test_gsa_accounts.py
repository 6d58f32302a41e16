"""A General System Administrator's account is changed only by a General System Administrator of the
institution or the operator (P-4), also through the network: desk staff neither refresh such a linked
account nor join it as a peer, and the bulk jobs leave it to those who may change it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.platform.models import User
from tests.factories import days
from tests.network.conftest import NetworkWorld, error_of
from tests.network.test_jobs import _run
from tests.network.test_pages import _sign_in


def _gsa_linked(world: NetworkWorld, **fields: object) -> User:
    """A linked account of EAST made from west-pat, since given the GSA role by a GSA of EAST."""
    source = world["west_pat"]
    user = world.factory.user(
        world.east,
        "west-pat.west",
        roles=(R.PATRON, R.GENERAL_SYSTEM_ADMINISTRATOR),
        record_type="PUBLIC",
        password=False,
        account_type="LINKED",
        user_group="WALKIN",
        source_institution_id=source.institution_id,
        source_user_id=source.id,
        **fields,
    )
    world.factory.session.commit()
    return user


def _first_name(world: NetworkWorld, user_id: int) -> str:
    session = world.factory.session
    session.expire_all()
    return session.scalars(select(User.first_name).where(User.id == user_id)).one()


def test_desk_staff_do_not_refresh_a_gsa_account(client: TestClient, world: NetworkWorld) -> None:
    linked = _gsa_linked(world)
    world["west_pat"].first_name = "Maria"
    world.factory.session.commit()
    for who in ("east_cdo", "east_ua"):
        refused = world.call(client, who, "POST", "/almaws/v1/users/west-pat.west", params={"op": "refresh"})
        assert refused.status_code == 403, refused.text
        assert "General System Administrator" in error_of(refused)["errorMessage"]
    assert _first_name(world, linked.id) == "Test"
    # Linking from the desk page refreshes an existing link: refused alike, with the reason.
    token = _sign_in(client, world, "east_cdo")
    again = client.post(
        "/network/walk-in/link",
        data={"csrf_token": token, "source_institution": "WEST", "source_user_id": "west-pat"},
    )
    assert again.status_code == 200
    assert "General System Administrator" in again.text
    assert _first_name(world, linked.id) == "Test"
    done = world.call(client, "east_gsa", "POST", "/almaws/v1/users/west-pat.west", params={"op": "refresh"})
    assert done.status_code == 204, done.text
    assert _first_name(world, linked.id) == "Maria"


def test_desk_staff_do_not_join_a_gsa_account_as_a_peer(client: TestClient, world: NetworkWorld) -> None:
    world.parameter(world.east, "consortial_id_type", "UNIV_ID")
    local = world.factory.user(
        world.east, "east-mary", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), identifiers=(("UNIV_ID", "WU-1"),)
    )
    world.factory.session.commit()
    refused = world.link(client, "east_cdo", "WEST", "west-pat")
    assert refused.status_code == 403, refused.text
    session = world.factory.session
    session.expire_all()
    assert session.get(User, local.id).source_user_id is None  # type: ignore[union-attr]
    joined = world.link(client, "east_gsa", "WEST", "west-pat")
    assert joined.status_code == 200, joined.text
    assert joined.json()["primary_id"] == "east-mary"


def test_a_user_administrators_purge_leaves_gsa_accounts(client: TestClient, world: NetworkWorld) -> None:
    linked = _gsa_linked(world, purge_date=days(-1))
    by_ua = _run(client, world, "M1201", who="east_ua")
    assert {c["type"]["value"]: c["value"] for c in by_ua["counter"]}["linked_accounts_purged"] == "0"
    session = world.factory.session
    assert session.scalar(select(User.id).where(User.id == linked.id)) == linked.id
    by_gsa = _run(client, world, "M1201", who="east_gsa")
    assert {c["type"]["value"]: c["value"] for c in by_gsa["counter"]}["linked_accounts_purged"] == "1"
    assert session.scalar(select(User.id).where(User.id == linked.id)) is None


def test_the_desks_bulk_refresh_leaves_gsa_accounts(client: TestClient, world: NetworkWorld) -> None:
    linked = _gsa_linked(world)
    world["west_pat"].first_name = "Maria"
    world.factory.session.commit()
    by_desk = _run(client, world, "M1202", who="east_cdo")
    assert {c["type"]["value"]: c["value"] for c in by_desk["counter"]} == {
        "linked_accounts_refreshed": "0",
        "linked_accounts_not_refreshed": "0",
    }
    assert _first_name(world, linked.id) == "Test"
    by_gsa = _run(client, world, "M1202", who="east_gsa")
    assert {c["type"]["value"]: c["value"] for c in by_gsa["counter"]}["linked_accounts_refreshed"] == "1"
    assert _first_name(world, linked.id) == "Maria"
