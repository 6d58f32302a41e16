"""One test per sentence of the seed (eresources-role-scope.txt) that part 1 covers, through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import Portfolio
from tests.eresources.conftest import World, bib, collection, portfolio

API = "/api/v1/eresources"
VIEW = "The resource was opened in View mode due to insufficient editing privileges for this resource"
WARNING = (
    "The portfolio you are about to attach has a different library definition than the selected electronic "
    "collection. Once confirmed, the portfolio will inherit the electronic collection's library definition. "
    "Note that this action cannot be reversed."
)


def message(response: object) -> str:
    return str(response.json()["errorList"]["error"][0]["errorMessage"])  # type: ignore[attr-defined]


def test_a_library_on_the_collection_hides_the_portfolio_library_and_shows_the_collection_library(
    client: TestClient, db: Session, world: World
) -> None:
    """ER-8: the editor shows the read-only "Electronic collection library" and hides "Library"."""
    _c, svc = collection(db, world.east, world.law)
    inherited = portfolio(db, world.east, service=svc)
    standalone = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key("eio_law")
    editor = client.get(f"{API}/portfolios/{inherited.id}/editor", headers=headers).json()
    assert editor["mode"] == "EDIT"
    assert editor["fields"] == {
        "library": {"visible": False, "editable": False},
        "electronic_collection_library": {"visible": True},
    }
    assert editor["electronic_collection_library"]["value"] == "EAST_LAW"
    alone = client.get(f"{API}/portfolios/{standalone.id}/editor", headers=headers).json()
    assert alone["fields"]["electronic_collection_library"] == {"visible": False}
    assert [c["value"] for c in alone["library_choices"]] == ["EAST_LAW"]
    # the API refuses the portfolio's own library while the collection has one
    put = client.put(
        f"/almaws/v1/bibs/{inherited.bib_id}/portfolios/{inherited.id}", json={"library": "EAST_MAIN"}, headers=headers
    )
    assert put.status_code == 400
    assert "library" in message(put)
    # and limits a standalone portfolio's library to the user's scopes
    out = client.put(
        f"/almaws/v1/bibs/{standalone.bib_id}/portfolios/{standalone.id}", json={"library": "EAST_SCI"}, headers=headers
    )
    assert out.status_code == 400


def test_view_mode_message(client: TestClient, db: Session, world: World) -> None:
    """ER-13: without edit rights every editor opens in View mode with the seed's message."""
    coll, svc = collection(db, world.east, world.sci)
    one = portfolio(db, world.east, service=svc)
    db.commit()
    headers = world.key("eio_law")
    for path in (
        f"{API}/collections/{coll.id}/editor",
        f"{API}/collections/{coll.id}/services/{svc.id}/editor",
        f"{API}/portfolios/{one.id}/editor",
    ):
        body = client.get(path, headers=headers).json()
        assert (body["mode"], body["message"]) == ("VIEW", VIEW), path
        assert body["library_choices"] == []
    assert client.get(f"{API}/portfolios/{one.id}/editor", headers=world.key("eio")).json()["mode"] == "EDIT"


def test_attach_only_to_collections_in_scope_with_the_warning(client: TestClient, db: Session, world: World) -> None:
    """ER-9: selectable collections match the scope; differing libraries warn; attaching deletes the library."""
    law, law_service = collection(db, world.east, world.law, name="Law")
    sci, _ = collection(db, world.east, world.sci, name="Science")
    plain, _ = collection(db, world.east, None, name="Plain")
    one = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key("ext_law")
    choices = {
        c["public_name"]: c
        for c in client.get(f"{API}/portfolios/{one.id}/attach-choices", headers=headers).json()["collection"]
    }
    assert {name: c["selectable"] for name, c in choices.items()} == {"Law": True, "Science": False, "Plain": False}
    assert choices["Science"]["warning"] == WARNING
    assert choices["Law"]["warning"] is None
    refused = client.post(f"{API}/portfolios/{one.id}/attach", json={"collection_id": str(sci.id)}, headers=headers)
    assert refused.status_code == 400
    assert "electronic_collection" in message(refused)

    # a collection in scope whose library differs: 409 with the warning until confirmed
    two = portfolio(db, world.east, library=world.main)
    db.commit()
    eio = world.key("eio")
    first = client.post(f"{API}/portfolios/{two.id}/attach", json={"collection_id": str(law.id)}, headers=eio)
    assert first.status_code == 409
    assert message(first) == WARNING
    confirmed = client.post(
        f"{API}/portfolios/{two.id}/attach", json={"collection_id": str(law.id), "confirm": True}, headers=eio
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["library"]["value"] == ""
    assert body["electronic_collection_library"]["value"] == "EAST_LAW"
    assert body["electronic_collection"]["service"]["value"] == str(law_service.id)
    fields = set(
        db.scalars(
            select(HistoryEvent.field).where(HistoryEvent.entity == "portfolio", HistoryEvent.entity_id == str(two.id))
        )
    )
    assert {"library", "electronic_collection"} <= fields
    again = client.post(f"{API}/portfolios/{two.id}/attach", json={"collection_id": str(plain.id)}, headers=eio)
    assert again.status_code == 400  # no longer standalone


def test_search_columns_facet_and_actions(client: TestClient, db: Session, world: World) -> None:
    """ER-10: Library and Electronic Collection Library columns hidden when empty, the facet, the actions."""
    _c, svc = collection(db, world.east, world.law)
    portfolio(db, world.east, service=svc)
    portfolio(db, world.east, service=svc)
    portfolio(db, world.east, library=world.sci)
    portfolio(db, world.east)
    db.commit()
    headers = world.key("ext_law")
    page = client.get(f"{API}/portfolios/search?limit=50", headers=headers).json()
    assert page["facets"]["library"] == [
        {"value": "EAST_LAW", "desc": "Law Library", "count": 2},
        {"value": "EAST_SCI", "desc": "Science Library", "count": 1},
    ]
    assert page["columns"] == {"library": True, "electronic_collection_library": True}
    actions = {
        (r["library"] or {}).get("value"): r["actions"]
        for r in page["result"]
        if r["electronic_collection_library"] is None
    }
    assert actions == {"EAST_SCI": [], None: []}
    assert {tuple(r["actions"]) for r in page["result"] if r["electronic_collection_library"]} == {
        ("edit", "add", "delete")
    }
    law_only = client.get(f"{API}/portfolios/search?library=EAST_LAW", headers=headers).json()
    assert law_only["total_record_count"] == 2
    editable = client.get(f"{API}/portfolios/search?editable=true", headers=headers).json()
    assert editable["total_record_count"] == 2
    hidden = client.get(f"{API}/portfolios/search?library=EAST_MAIN", headers=headers).json()
    assert hidden == {
        "total_record_count": 0,
        "total_is_exact": True,
        "columns": {"library": False, "electronic_collection_library": False},
        "facets": {"library": hidden["facets"]["library"]},
    }
    assert client.get(f"{API}/portfolios/search?library=WEST_MAIN", headers=headers).status_code == 400
    collections = client.get(f"{API}/collections/search", headers=headers).json()
    assert collections["facets"]["library"] == [{"value": "EAST_LAW", "desc": "Law Library", "count": 1}]
    assert collections["result"][0]["actions"] == ["edit", "add", "delete"]


def test_service_editor(client: TestClient, db: Session, world: World) -> None:
    """ER-12: Collection library header, Library column hidden by default, Library filter, actions in scope."""
    coll, svc = collection(db, world.east, None)
    portfolio(db, world.east, service=svc, library=world.law)
    portfolio(db, world.east, service=svc, library=world.sci)
    portfolio(db, world.east, service=svc)
    db.commit()
    path = f"{API}/collections/{coll.id}/services/{svc.id}/editor"
    body = client.get(path, headers=world.key("ext_law")).json()
    assert body["collection_library"] is None
    listing = body["portfolio_list"]
    assert listing["columns"]["library"]["visible"] is False
    assert [v["value"] for v in listing["library_filter"]] == ["ALL", "EAST_LAW", "EAST_SCI"]
    assert listing["table_actions"] == []  # the service is at institution level: not in a library scope
    rows = {(p["library"] or {}).get("value"): p["actions"] for p in listing["portfolio"]}
    assert rows == {
        "EAST_LAW": ["edit", "move", "remove", "duplicate", "deactivate", "delete"],
        "EAST_SCI": [],
        None: [],
    }
    filtered = client.get(f"{path}?library=EAST_SCI", headers=world.key("ext_law")).json()
    assert filtered["portfolio_list"]["total_record_count"] == 1
    full = client.get(path, headers=world.key("ext")).json()["portfolio_list"]
    assert full["table_actions"][-1] == "delete_selected"
    assert "delete_selected" not in client.get(path, headers=world.key("eio")).json()["portfolio_list"]["table_actions"]


def test_collection_editor_services_delete_needs_extended(client: TestClient, db: Session, world: World) -> None:
    """ER-11: the services table's Delete row action needs Extended."""
    coll, _svc = collection(db, world.east, world.law)
    db.commit()
    path = f"{API}/collections/{coll.id}/editor"
    assert client.get(path, headers=world.key("eio_law")).json()["services"][0]["actions"] == ["edit"]
    assert client.get(path, headers=world.key("ext_law")).json()["services"][0]["actions"] == ["edit", "delete"]


def test_record_inventory_tabs(client: TestClient, db: Session, world: World) -> None:
    """ER-16: Edit and Delete only in scope; Add Local Portfolio always enabled."""
    record = bib(db, world.east)
    _c, svc = collection(db, world.east, world.sci)
    portfolio(db, world.east, record=record, library=world.law)
    portfolio(db, world.east, record=record, service=svc)
    db.commit()
    body = client.get(f"{API}/bibs/{record.id}/inventory", headers=world.key("ext_law")).json()
    assert body["add_local_portfolio"] is True
    assert [p["actions"] for p in body["portfolios"]] == [["edit", "delete"], []]
    assert [c["actions"] for c in body["electronic_collections"]] == [[]]
    assert client.get(f"{API}/bibs/{record.id}/inventory", headers=world.key("cdi_sci")).json()["add_local_portfolio"]


def test_add_local_portfolio(client: TestClient, db: Session, world: World) -> None:
    """ER-17: library from the user's scopes; part of a collection in scope; the collection's library applies."""
    record = bib(db, world.east)
    law, _ = collection(db, world.east, world.law)
    sci, _ = collection(db, world.east, world.sci)
    db.commit()
    headers = world.key("eio_law")
    path = f"/almaws/v1/bibs/{record.id}/portfolios"
    assert client.post(path, json={"library": "EAST_SCI"}, headers=headers).status_code == 400
    standalone = client.post(path, json={"library": "EAST_LAW"}, headers=headers)
    assert standalone.json()["library"]["value"] == "EAST_LAW"
    part = client.post(path, json={"electronic_collection": {"id": {"value": str(law.id)}}}, headers=headers)
    assert part.status_code == 200, part.text
    assert part.json()["electronic_collection_library"]["value"] == "EAST_LAW"
    assert part.json()["library"]["value"] == ""
    out = client.post(path, json={"electronic_collection": {"id": str(sci.id)}}, headers=headers)
    assert out.status_code == 400
    assert "electronic_collection" in message(out)
    # ER-23: created without a library it is at institution level, and the library-scoped creator cannot edit it
    plain = client.post(path, json={}, headers=headers)
    assert plain.json()["library"]["value"] == ""
    pid = plain.json()["id"]
    assert client.put(f"{path}/{pid}", json={"availability": "10"}, headers=headers).status_code == 403


def test_community_zone_activation_is_institution_level(client: TestClient, db: Session, world: World) -> None:
    """ER-23: activation does not put the user's scope library on what it activates."""
    operator = world.key("operator")
    made = client.post(
        "/api/v1/cz/collections",
        json={
            "public_name": "CZ Open Access",
            "portfolios": [{"title": "Open Journal A"}, {"title": "Open Journal B"}],
        },
        headers=operator,
    )
    assert made.status_code == 201, made.text
    cz_id = made.json()["id"]
    headers = world.key("eio_law")
    assert client.post("/api/v1/cz/collections", json={"public_name": "x"}, headers=headers).status_code == 403
    catalogue = client.get("/api/v1/cz/collections", headers=headers).json()["collection"]
    assert any(c["id"] == cz_id and c["activated"] is False for c in catalogue)
    activated = client.post(f"/api/v1/cz/collections/{cz_id}/activate", headers=headers)
    assert activated.status_code == 200, activated.text
    body = activated.json()
    assert body["library"]["value"] == ""
    assert body["is_local"] is False
    assert body["portfolios"]["value"] == 2
    assert client.post(f"/api/v1/cz/collections/{cz_id}/activate", headers=headers).status_code == 409
    assert (
        client.put(
            f"/almaws/v1/electronic/e-collections/{body['id']}", json={"description": "x"}, headers=headers
        ).status_code
        == 403
    )
    assert all(
        p.library_id is None for p in db.scalars(select(Portfolio).where(Portfolio.collection_id == int(body["id"])))
    )


def test_access_check_names_role_scope_and_library(client: TestClient, db: Session, world: World) -> None:
    """P-9 for ER-5/ER-6: the explanation names the role, the scope and the library."""
    _c, svc = collection(db, world.east, world.sci)
    one = portfolio(db, world.east, service=svc)
    own = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key("ext_sci")
    denied = client.get(f"/api/v1/access/check?action=portfolio:edit&object=portfolio:{one.id}", headers=headers).json()
    assert denied["allowed"] is False
    assert "EAST_SCI" in denied["reason"]
    assert "inherited from its electronic collection" in denied["reason"]
    assert "Electronic Inventory Operator for EAST_LAW" in denied["reason"]
    allowed = client.get(
        f"/api/v1/access/check?action=portfolio:delete&object=portfolio:{one.id}", headers=headers
    ).json()
    assert allowed["allowed"] is True
    assert allowed["rule"] == "eresource_scope_delete:portfolio"
    assert "Electronic Inventory Operator Extended for EAST_SCI" in allowed["reason"]
    mine = client.get(f"/api/v1/access/check?action=portfolio:edit&object=portfolio:{own.id}", headers=headers).json()
    assert mine["allowed"] is True
    assert "EAST_LAW (its own)" in mine["reason"]
    west, _ = collection(db, world.west)
    db.commit()
    hidden = client.get(
        f"/api/v1/access/check?action=electronic-collection:edit&object=electronic_collection:{west.id}",
        headers=headers,
    )
    assert hidden.status_code == 404
