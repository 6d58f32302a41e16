"""Electronic resources pages through the app: searches with columns hidden when empty and the facet, the
collection library confirmation and job link (ER-7), View mode (ER-13), the service editor (ER-12),
attaching with the warning (ER-9), Add Local Portfolio (ER-17), the Community Zone page (ER-23)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.eresources.models import Portfolio
from tests.eresources.conftest import World, bib, collection, portfolio
from tests.support.conftest import sign_in

VIEW = "The resource was opened in View mode due to insufficient editing privileges for this resource"
CONFIRMATION = (
    "Setting a library to the electronic collection will delete any existing library value from all its portfolios"
)


def test_search_page_columns_and_facet(client: TestClient, db: Session, world: World) -> None:
    portfolio(db, world.east, title="Plain")
    db.commit()
    sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/portfolios")
    assert page.status_code == 200
    assert 'id="column-library"' not in page.text
    assert 'id="column-collection-library"' not in page.text
    _c, svc = collection(db, world.east, world.law)
    portfolio(db, world.east, service=svc, title="Inherited")
    db.commit()
    page = client.get("/eresources/portfolios")
    assert 'id="column-collection-library"' in page.text
    assert 'id="facet-EAST_LAW"' in page.text
    filtered = client.get("/eresources/portfolios?library=EAST_LAW")
    assert "Inherited" in filtered.text
    assert "Plain" not in filtered.text
    assert "Electronic resources" in page.text  # the navigation entry


def test_setting_a_collection_library_asks_for_confirmation_then_links_the_job(
    client: TestClient, db: Session, world: World
) -> None:
    coll, svc = collection(db, world.east)
    one = portfolio(db, world.east, service=svc, library=world.main)
    db.commit()
    token = sign_in(client, world.users["eio"])
    asked = client.post(f"/eresources/collections/{coll.id}/library", data={"csrf_token": token, "library": "EAST_LAW"})
    assert asked.status_code == 200
    assert CONFIRMATION in asked.text
    db.expire_all()
    assert db.get(Portfolio, one.id).library_id == world.main.id  # type: ignore[union-attr]
    done = client.post(
        f"/eresources/collections/{coll.id}/library",
        data={"csrf_token": token, "library": "EAST_LAW", "confirmed": "yes"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "Set Electronic Collection Library" in done.text
    job = re.search(r'href="/jobs/(\d+)" id="library-job-link"', done.text)
    assert job is not None
    monitor = client.get(f"/jobs/{job.group(1)}")
    assert monitor.status_code == 200
    assert "Set Electronic Collection Library" in monitor.text
    db.expire_all()
    assert db.get(Portfolio, one.id).library_id is None  # type: ignore[union-attr]


def test_view_mode_and_the_service_editor(client: TestClient, db: Session, world: World) -> None:
    coll, svc = collection(db, world.east, world.sci)
    one = portfolio(db, world.east, service=svc)
    db.commit()
    sign_in(client, world.users["eio_law"])
    for path in (
        f"/eresources/collections/{coll.id}",
        f"/eresources/portfolios/{one.id}",
        f"/eresources/collections/{coll.id}/services/{svc.id}",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert VIEW in page.text, path
        assert 'id="library-select"' not in page.text
    editor = client.get(f"/eresources/collections/{coll.id}/services/{svc.id}")
    assert 'id="table-action-add" disabled' in editor.text
    assert "Collection library" in editor.text
    assert 'id="column-library"' not in editor.text
    assert (
        'id="column-library"' in client.get(f"/eresources/collections/{coll.id}/services/{svc.id}?columns=library").text
    )


def test_attach_with_warning_add_local_portfolio_and_cz(client: TestClient, db: Session, world: World) -> None:
    law, _ = collection(db, world.east, world.law, name="Law collection")
    one = portfolio(db, world.east, library=world.main)
    record = bib(db, world.east, "A record")
    db.commit()
    token = sign_in(client, world.users["eio"])
    warned = client.post(
        f"/eresources/portfolios/{one.id}/attach", data={"csrf_token": token, "collection_id": str(law.id)}
    )
    assert "different library definition" in warned.text
    attached = client.post(
        f"/eresources/portfolios/{one.id}/attach",
        data={"csrf_token": token, "collection_id": str(law.id), "confirmed": "yes"},
        follow_redirects=True,
    )
    assert "Electronic collection library" in attached.text
    form = client.get(f"/eresources/bibs/{record.id}/portfolios/new?collection_id={law.id}")
    assert 'id="library-read-only"' in form.text
    made = client.post(
        f"/eresources/bibs/{record.id}/portfolios",
        data={"csrf_token": token, "portfolio_type": "STANDALONE", "library": "EAST_SCI"},
        follow_redirects=True,
    )
    assert made.status_code == 200
    assert db.scalar(select(Portfolio.library_id).where(Portfolio.bib_id == record.id)) == world.sci.id
    inventory = client.get(f"/eresources/bibs/{record.id}")
    assert 'id="add-local-portfolio"' in inventory.text
    assert client.get("/eresources/cz").status_code == 200
