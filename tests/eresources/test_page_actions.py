"""Electronic resources page actions through the app: Delete with its confirmation from the searches, the
editors and a record's tabs (ER-6, ER-10, ER-11, ER-16), the service editor's row and table actions
(ER-12), Add a local electronic collection and Add service, the collection facet over the name search
and the portfolio search's library columns (ER-10).

Each action is used by a person it is allowed to, shown disabled or absent to one it is not, and a
forged POST by that person is refused 403 with nothing changed; history is written by the verbs."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import ElectronicCollection, ElectronicService, Portfolio
from tests.eresources.conftest import World, collection, portfolio
from tests.support.conftest import sign_in


def _post(client: TestClient, path: str, **kwargs: Any) -> Any:
    """A form POST, its redirect (303) left unfollowed."""
    return client.post(path, follow_redirects=False, **kwargs)


def _history(db: Session, entity: str, entity_id: int, field: str) -> list[HistoryEvent]:
    return list(
        db.scalars(
            select(HistoryEvent).where(
                HistoryEvent.entity == entity, HistoryEvent.entity_id == str(entity_id), HistoryEvent.field == field
            )
        )
    )


def _count(db: Session, model: type, *condition: object) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model).where(*condition)) or 0)  # type: ignore[arg-type]


def test_portfolio_delete_from_the_search_record_and_editor(client: TestClient, db: Session, world: World) -> None:
    _law, law_svc = collection(db, world.east, world.law, name="Law collection")
    _sci, sci_svc = collection(db, world.east, world.sci, name="Science collection")
    inside = portfolio(db, world.east, service=law_svc, title="Law Review")
    outside = portfolio(db, world.east, service=sci_svc, title="Chemistry Letters")
    db.commit()

    token = sign_in(client, world.users["eio_law"])  # edits LAW, deletes nothing
    search = client.get("/eresources/portfolios")
    assert f'id="edit-{inside.id}"' in search.text
    assert f'id="delete-{inside.id}"' not in search.text
    assert 'id="portfolio-delete"' not in client.get(f"/eresources/portfolios/{inside.id}").text
    record = client.get(f"/eresources/bibs/{inside.bib_id}")
    assert f'id="inventory-delete-{inside.id}" disabled' in record.text
    assert client.get(f"/eresources/portfolios/{inside.id}/delete").status_code == 403
    forged = _post(client, f"/eresources/portfolios/{inside.id}/delete", data={"csrf_token": token, "confirmed": "yes"})
    assert forged.status_code == 403
    assert _count(db, Portfolio, Portfolio.id == inside.id) == 1
    assert not _history(db, "portfolio", inside.id, "deleted")

    token = sign_in(client, world.users["ext_law"])  # Extended for LAW
    search = client.get("/eresources/portfolios")
    assert f'id="delete-{inside.id}"' in search.text
    assert f'id="delete-{outside.id}"' not in search.text
    assert 'id="portfolio-delete"' in client.get(f"/eresources/portfolios/{inside.id}").text
    record = client.get(f"/eresources/bibs/{inside.bib_id}")
    assert f'id="inventory-delete-{inside.id}" disabled' not in record.text
    confirm = client.get(f"/eresources/portfolios/{inside.id}/delete?back=/eresources/portfolios")
    assert confirm.status_code == 200
    assert 'id="delete-confirm"' in confirm.text
    assert "Law Review" in confirm.text
    forged = _post(
        client, f"/eresources/portfolios/{outside.id}/delete", data={"csrf_token": token, "confirmed": "yes"}
    )
    assert forged.status_code == 403
    assert _count(db, Portfolio, Portfolio.id == outside.id) == 1
    done = _post(
        client,
        f"/eresources/portfolios/{inside.id}/delete",
        data={"csrf_token": token, "confirmed": "yes", "back": "https://elsewhere.example/"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/eresources/bibs/{inside.bib_id}"  # never another site
    assert "was deleted" in client.get(done.headers["location"]).text
    assert _count(db, Portfolio, Portfolio.id == inside.id) == 0
    assert _history(db, "portfolio", inside.id, "deleted")[0].actor_id == world.users["ext_law"].id


def test_collection_and_service_delete_with_the_block_and_the_scope(
    client: TestClient, db: Session, world: World
) -> None:
    empty = ElectronicCollection(institution_id=world.east.id, public_name="Empty law", library_id=world.law.id)
    db.add(empty)
    full, full_svc = collection(db, world.east, world.law, name="Full law")
    portfolio(db, world.east, service=full_svc)
    spare = ElectronicService(institution_id=world.east.id, collection_id=full.id)
    db.add(spare)
    sci, sci_svc = collection(db, world.east, world.sci, name="Science")
    db.commit()

    token = sign_in(client, world.users["eio_law"])
    assert f'id="delete-{empty.id}"' not in client.get("/eresources/collections").text
    editor = client.get(f"/eresources/collections/{full.id}")
    assert f'id="service-delete-{spare.id}" disabled' in editor.text
    assert 'id="collection-delete"' not in editor.text
    for path in (
        f"/eresources/collections/{empty.id}/delete",
        f"/eresources/collections/{full.id}/services/{spare.id}/delete",
    ):
        assert client.get(path).status_code == 403, path
        assert _post(client, path, data={"csrf_token": token, "confirmed": "yes"}).status_code == 403, path
    assert _count(db, ElectronicCollection, ElectronicCollection.id == empty.id) == 1
    assert _count(db, ElectronicService, ElectronicService.id == spare.id) == 1

    token = sign_in(client, world.users["ext_law"])
    assert f'id="delete-{empty.id}"' in client.get("/eresources/collections").text
    assert f'id="delete-{sci.id}"' not in client.get("/eresources/collections").text
    editor = client.get(f"/eresources/collections/{full.id}")
    assert f'id="service-delete-{spare.id}" disabled' not in editor.text
    assert f'href="/eresources/collections/{full.id}/services/{spare.id}/delete"' in editor.text
    assert _post(client, f"/eresources/collections/{sci.id}/delete", data={"csrf_token": token}).status_code == 403
    sci_path = f"/eresources/collections/{sci.id}/services/{sci_svc.id}/delete"
    assert _post(client, sci_path, data={"csrf_token": token}).status_code == 403
    # A collection with services, a service with portfolios: blocked, with the reason, nothing changed.
    blocked = _post(client, f"/eresources/collections/{full.id}/delete", data={"csrf_token": token})
    assert blocked.status_code == 303
    assert "still has e-services" in client.get(blocked.headers["location"]).text
    blocked = _post(
        client, f"/eresources/collections/{full.id}/services/{full_svc.id}/delete", data={"csrf_token": token}
    )
    assert "still has portfolios" in client.get(blocked.headers["location"]).text
    assert _count(db, ElectronicService, ElectronicService.id == full_svc.id) == 1
    # Allowed: the service, then the collection.
    assert client.get(f"/eresources/collections/{full.id}/services/{spare.id}/delete").status_code == 200
    done = _post(client, f"/eresources/collections/{full.id}/services/{spare.id}/delete", data={"csrf_token": token})
    assert done.headers["location"] == f"/eresources/collections/{full.id}"
    assert _count(db, ElectronicService, ElectronicService.id == spare.id) == 0
    assert _history(db, "electronic_service", spare.id, "deleted")
    assert 'id="delete-confirm"' in client.get(f"/eresources/collections/{empty.id}/delete").text
    done = _post(
        client,
        f"/eresources/collections/{empty.id}/delete",
        data={"csrf_token": token, "confirmed": "yes", "back": "/eresources/collections"},
    )
    assert done.headers["location"] == "/eresources/collections"
    assert _count(db, ElectronicCollection, ElectronicCollection.id == empty.id) == 0
    assert _history(db, "electronic_collection", empty.id, "deleted")


def test_service_editor_row_and_table_actions_in_scope(client: TestClient, db: Session, world: World) -> None:
    law, svc = collection(db, world.east, world.law, name="Law collection")
    other, other_svc = collection(db, world.east, world.law, name="Other law collection")
    sci, _ = collection(db, world.east, world.sci, name="Science collection")
    one = portfolio(db, world.east, service=svc, title="One")
    two = portfolio(db, world.east, service=svc, title="Two")
    three = portfolio(db, world.east, service=svc, title="Three")
    db.commit()
    base = f"/eresources/collections/{law.id}/services/{svc.id}"

    token = sign_in(client, world.users["eio_law"])
    editor = client.get(base)
    for action in ("edit", "move", "remove", "duplicate", "deactivate"):
        assert f'id="row-{one.id}-{action}" disabled' not in editor.text, action
    assert f'id="row-{one.id}-delete" disabled' in editor.text  # Extended only
    assert 'id="table-action-delete_selected" disabled' in editor.text
    assert 'id="table-action-add" disabled' not in editor.text
    assert 'id="add-portfolio-form"' in editor.text

    done = _post(client, f"{base}/portfolios/{one.id}/availability", data={"csrf_token": token, "availability": "10"})
    assert done.status_code == 303
    db.expire_all()
    assert db.get(Portfolio, one.id).availability == "10"  # type: ignore[union-attr]
    assert _history(db, "portfolio", one.id, "availability")

    assert _post(client, f"{base}/portfolios/{one.id}/duplicate", data={"csrf_token": token}).status_code == 303
    assert _count(db, Portfolio, Portfolio.service_id == svc.id, Portfolio.title == "One") == 2

    assert _post(client, f"{base}/portfolios/{two.id}/remove", data={"csrf_token": token}).status_code == 303
    db.expire_all()
    removed = db.get(Portfolio, two.id)
    assert removed is not None
    assert removed.collection_id is None
    assert removed.service_id is None
    assert removed.library_id == world.law.id  # keeps the library it inherited: still in the same scope
    assert _history(db, "portfolio", two.id, "electronic_collection")

    chooser = _post(client, f"{base}/move", data={"csrf_token": token, "portfolio": str(three.id)})
    assert chooser.status_code == 200
    assert f'id="move-to-{other.id}"' in chooser.text
    assert f'id="move-to-{sci.id}" disabled' in chooser.text
    refused = _post(
        client, f"{base}/move", data={"csrf_token": token, "portfolio": str(three.id), "collection_id": str(sci.id)}
    )
    assert refused.status_code == 400
    moved = _post(
        client, f"{base}/move", data={"csrf_token": token, "portfolio": str(three.id), "collection_id": str(other.id)}
    )
    assert moved.status_code == 303
    db.expire_all()
    assert db.get(Portfolio, three.id).service_id == other_svc.id  # type: ignore[union-attr]

    selection = _post(
        client,
        f"{base}/portfolios/availability",
        data={"csrf_token": token, "portfolio": [str(one.id)], "availability": "11"},
    )
    assert selection.status_code == 303
    db.expire_all()
    assert db.get(Portfolio, one.id).availability == "11"  # type: ignore[union-attr]

    added = _post(client, f"{base}/portfolios", data={"csrf_token": token, "title": "Added here", "coverage": "2001-"})
    assert added.status_code == 303
    made = db.scalars(select(Portfolio).where(Portfolio.title == "Added here")).one()
    assert made.service_id == svc.id
    assert made.library_id is None  # it inherits the collection's library
    assert _history(db, "portfolio", made.id, "created")

    forged = _post(client, f"{base}/portfolios/delete-selected", data={"csrf_token": token, "portfolio": str(one.id)})
    assert forged.status_code == 403

    token = sign_in(client, world.users["ext_law"])
    confirm = _post(
        client,
        f"{base}/portfolios/delete-selected",
        data={"csrf_token": token, "portfolio": [str(one.id), str(made.id)]},
    )
    assert confirm.status_code == 200
    assert 'id="delete-confirm"' in confirm.text
    assert _count(db, Portfolio, Portfolio.id.in_([one.id, made.id])) == 2
    deleted = _post(
        client,
        f"{base}/portfolios/delete-selected",
        data={"csrf_token": token, "portfolio": [str(one.id), str(made.id)], "confirmed": "yes"},
    )
    assert deleted.status_code == 303
    assert _count(db, Portfolio, Portfolio.id.in_([one.id, made.id])) == 0
    assert _history(db, "portfolio", made.id, "deleted")


def test_service_editor_out_of_scope_actions_are_disabled_and_refused(
    client: TestClient, db: Session, world: World
) -> None:
    sci, svc = collection(db, world.east, world.sci, name="Science collection")
    law, _ = collection(db, world.east, world.law, name="Law collection")
    one = portfolio(db, world.east, service=svc, title="Out of scope")
    db.commit()
    base = f"/eresources/collections/{sci.id}/services/{svc.id}"
    token = sign_in(client, world.users["ext_law"])
    editor = client.get(base)
    for action in ("edit", "move", "remove", "duplicate", "deactivate", "delete"):
        assert f'id="row-{one.id}-{action}" disabled' in editor.text, action
    for action in ("activate_deactivate", "move_set_of_portfolios", "add", "delete_selected", "load_portfolios"):
        assert f'id="table-action-{action}" disabled' in editor.text, action
    assert f'id="select-{one.id}"' not in editor.text
    assert 'id="add-portfolio-form"' not in editor.text
    selected = {"csrf_token": token, "portfolio": str(one.id)}
    for path, data in (
        (f"{base}/portfolios/{one.id}/availability", {"csrf_token": token, "availability": "10"}),
        (f"{base}/portfolios/{one.id}/duplicate", {"csrf_token": token}),
        (f"{base}/portfolios/{one.id}/remove", {"csrf_token": token}),
        (f"{base}/move", {**selected, "collection_id": str(law.id)}),
        (f"{base}/portfolios/availability", {**selected, "availability": "10"}),
        (f"{base}/portfolios/delete-selected", {**selected, "confirmed": "yes"}),
        (f"{base}/portfolios", {"csrf_token": token, "title": "Sneaked in"}),
    ):
        assert _post(client, path, data=data).status_code == 403, path
    db.expire_all()
    kept = db.get(Portfolio, one.id)
    assert kept is not None
    assert kept.availability == "11"
    assert kept.service_id == svc.id
    assert _count(db, Portfolio, Portfolio.service_id == svc.id) == 1
    assert _count(db, Portfolio, Portfolio.title == "Sneaked in") == 0
    assert not db.scalars(select(HistoryEvent).where(HistoryEvent.entity_id == str(one.id))).first()


def test_the_collection_facet_counts_over_the_name_search(client: TestClient, db: Session, world: World) -> None:
    collection(db, world.east, world.law, name="Law reviews")
    collection(db, world.east, world.sci, name="Science letters")
    db.commit()
    sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/collections")
    assert 'id="facet-EAST_LAW"' in page.text
    assert 'id="facet-EAST_SCI"' in page.text
    narrowed = client.get("/eresources/collections?q=law")
    assert 'id="facet-EAST_LAW"' in narrowed.text
    assert 'id="facet-EAST_SCI"' not in narrowed.text  # the facet counts what the name search finds


def test_the_portfolio_search_library_columns_show_their_values(client: TestClient, db: Session, world: World) -> None:
    _law, law_svc = collection(db, world.east, world.law, name="Law collection")
    _open, open_svc = collection(db, world.east, None, name="Open collection")
    inherited = portfolio(db, world.east, service=law_svc, title="Inherited")
    own = portfolio(db, world.east, service=open_svc, library=world.sci, title="Own library")
    db.commit()
    sign_in(client, world.users["eio"])
    page = client.get("/eresources/portfolios").text
    inherited_row = page[page.index(f'id="portfolio-row-{inherited.id}"') :].split("</tr>")[0]
    own_row = page[page.index(f'id="portfolio-row-{own.id}"') :].split("</tr>")[0]
    # "Library": the portfolio's own; "Electronic Collection Library": its collection's.
    cells = re.compile(r"<td>(.*?)</td>", re.S)
    assert cells.findall(inherited_row)[1:3] == ["", "Law Library"]
    assert cells.findall(own_row)[1:3] == ["Science Library", ""]


def test_add_a_local_collection_with_the_libraries_of_the_scope(client: TestClient, db: Session, world: World) -> None:
    token = sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/collections")
    assert 'id="add-collection-form"' in page.text
    assert '<option value="EAST_LAW">' in page.text
    assert '<option value="EAST_SCI">' not in page.text
    refused = _post(
        client, "/eresources/collections", data={"csrf_token": token, "public_name": "Sneaky", "library": "EAST_SCI"}
    )
    assert refused.status_code == 400
    assert _count(db, ElectronicCollection, ElectronicCollection.public_name == "Sneaky") == 0
    made = _post(
        client, "/eresources/collections", data={"csrf_token": token, "public_name": "New law", "library": "EAST_LAW"}
    )
    assert made.status_code == 303
    created = db.scalars(select(ElectronicCollection).where(ElectronicCollection.public_name == "New law")).one()
    assert created.library_id == world.law.id
    assert _history(db, "electronic_collection", created.id, "created")

    token = sign_in(client, world.users["limited_law"])  # no editing role: no form, and refused
    assert 'id="add-collection-form"' not in client.get("/eresources/collections").text
    forged = _post(client, "/eresources/collections", data={"csrf_token": token, "public_name": "Forged"})
    assert forged.status_code == 403
    assert _count(db, ElectronicCollection, ElectronicCollection.public_name == "Forged") == 0


def test_add_a_service_to_a_collection_in_scope(client: TestClient, db: Session, world: World) -> None:
    law, _ = collection(db, world.east, world.law, name="Law collection")
    sci, _ = collection(db, world.east, world.sci, name="Science collection")
    db.commit()
    token = sign_in(client, world.users["eio_law"])
    assert 'id="add-service-form"' in client.get(f"/eresources/collections/{law.id}").text
    assert 'id="add-service-form"' not in client.get(f"/eresources/collections/{sci.id}").text
    forged = _post(client, f"/eresources/collections/{sci.id}/services", data={"csrf_token": token})
    assert forged.status_code == 403
    assert _count(db, ElectronicService, ElectronicService.collection_id == sci.id) == 1
    added = _post(
        client,
        f"/eresources/collections/{law.id}/services",
        data={"csrf_token": token, "type": "getAbstract", "public_description": "Abstracts"},
    )
    assert added.status_code == 303
    made = db.scalars(select(ElectronicService).where(ElectronicService.type == "getAbstract")).one()
    assert made.collection_id == law.id
    assert added.headers["location"] == f"/eresources/collections/{law.id}/services/{made.id}"
    assert _history(db, "electronic_service", made.id, "created")
