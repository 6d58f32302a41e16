"""ER-11, ER-12 at the scale of N-1: the service editor of an aggregator (a million portfolios) counts its
portfolios up to the cap and finds its Library filter's values over an index, the collection editor counts
each service's portfolios up to the cap; and every capped chooser (ER-9's attach, Move, Add Local Portfolio
of ER-17, the sets list, an import profile's collections) says that it is capped and narrows by name. The
caps are lowered here so that a few rows stand for the million."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, exists, select, text
from sqlalchemy.orm import Session

from consortia.eresources import pages, search, service_pages
from consortia.eresources.models import ElectronicService, Portfolio
from consortia.platform.models import Library
from tests.eresources.conftest import World, bib, collection, portfolio
from tests.support.conftest import sign_in

API = "/api/v1/eresources"


@contextmanager
def statements(db: Session) -> Iterator[list[str]]:
    """The SQL the session sends while the block runs."""
    seen: list[str] = []
    engine = db.get_bind()

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _service_with(db: Session, world: World, *libraries: Library | None) -> tuple[int, ElectronicService]:
    coll, svc = collection(db, world.east, None, name="Aggregator")
    record = bib(db, world.east)
    for library in libraries:
        portfolio(db, world.east, service=svc, library=library, record=record)
    db.commit()
    return coll.id, svc


def test_the_service_editor_counts_up_to_the_cap(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, svc = _service_with(db, world, world.law, world.law, world.sci, None, None)
    headers = world.key("eio")
    path = f"{API}/collections/{cid}/services/{svc.id}/editor"
    exact = client.get(path, headers=headers).json()["portfolio_list"]
    assert (exact["total_record_count"], exact["total_is_exact"]) == (5, True)

    monkeypatch.setattr(search, "API_COUNT_CAP", 3)
    monkeypatch.setattr(search, "PAGE_COUNT_CAP", 3)
    capped = client.get(f"{path}?limit=2", headers=headers).json()["portfolio_list"]
    assert (capped["total_record_count"], capped["total_is_exact"]) == (3, False)
    assert len(capped["portfolio"]) == 2
    # the filter narrows under the cap: the count is exact again
    law = client.get(f"{path}?library=EAST_LAW", headers=headers).json()["portfolio_list"]
    assert (law["total_record_count"], law["total_is_exact"]) == (2, True)

    sign_in(client, world.users["eio"])
    monkeypatch.setattr(service_pages, "PAGE_SIZE", 2)
    page = client.get(f"/eresources/collections/{cid}/services/{svc.id}")
    assert "More than 3 portfolios: choose a library to narrow the list" in page.text
    assert "?page=2" in page.text  # a next page, from the row beyond the page, not from the total
    last = client.get(f"/eresources/collections/{cid}/services/{svc.id}?page=3")
    assert "?page=4" not in last.text
    assert 'id="portfolio-row-' in last.text
    narrowed = client.get(f"/eresources/collections/{cid}/services/{svc.id}?library=EAST_SCI")
    assert ">1 portfolio<" in narrowed.text


def test_the_service_editor_reads_no_exact_count_and_no_distinct(db: Session, world: World) -> None:
    """Every count of the editor is bounded by a LIMIT, and the Library filter is no DISTINCT over the
    service's portfolios: what would cost a full read of a million rows at every page view."""
    from consortia.access.identity import identity_of

    _cid, svc = _service_with(db, world, world.law, world.sci, None)
    identity = identity_of(world.users["ext"])
    with statements(db) as seen:
        editor = search.service_editor(db, identity, svc, limit=50, count_cap=1000)
    assert [lib.code for lib in editor.library_filter] == ["EAST_LAW", "EAST_SCI"]
    assert (editor.total, editor.exact, editor.has_next) == (3, True, False)
    counts = [s for s in seen if "COUNT(" in s]
    assert counts, seen
    assert all("LIMIT" in s for s in counts), counts
    assert not any("DISTINCT" in s for s in seen), seen


def test_the_library_filter_values_walk_the_service_library_index(db: Session, world: World) -> None:
    """The query behind the filter's values seeks `ix_portfolio_service_library` per library."""
    _cid, svc = _service_with(db, world, world.law)
    used = exists().where(Portfolio.service_id == svc.id, Portfolio.library_id == Library.id)
    query = select(Library.id).where(Library.institution_id == world.east.id, used)
    sql = str(query.compile(db.get_bind(), compile_kwargs={"literal_binds": True}))
    if db.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in db.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    else:
        # a few test rows would be read sequentially: ask which index the planner takes when it must take one
        db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(row[0]) for row in db.execute(text(f"EXPLAIN {sql}")))
    assert "ix_portfolio_service_library" in plan, plan


def test_the_collection_editor_counts_each_service_up_to_the_cap(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, svc = _service_with(db, world, None, None, None, None)
    headers = world.key("eio")
    path = f"{API}/collections/{cid}/editor"
    row = client.get(path, headers=headers).json()["services"][0]
    assert (row["id"], row["portfolios"], row["portfolios_is_exact"]) == (str(svc.id), 4, True)
    monkeypatch.setattr(search, "API_COUNT_CAP", 2)
    monkeypatch.setattr(search, "PAGE_COUNT_CAP", 2)
    row = client.get(path, headers=headers).json()["services"][0]
    assert (row["portfolios"], row["portfolios_is_exact"]) == (2, False)
    sign_in(client, world.users["eio"])
    assert "More than 2</td>" in client.get(f"/eresources/collections/{cid}").text


# --- choosers ---------------------------------------------------------------------------------------


def _collections(db: Session, world: World, *names: str) -> None:
    for name in names:
        collection(db, world.east, None, name=name)


def test_the_attach_chooser_says_when_it_is_capped_and_narrows_by_name(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _collections(db, world, "Alpha Journals", "Beta Journals", "Gamma Books")
    one = portfolio(db, world.east)
    db.commit()
    headers = world.key("eio")
    path = f"{API}/portfolios/{one.id}/attach-choices"
    capped = client.get(f"{path}?limit=2", headers=headers).json()
    assert [c["public_name"] for c in capped["collection"]] == ["Alpha Journals", "Beta Journals"]
    assert (capped["total_record_count"], capped["total_is_exact"]) == (2, False)
    narrowed = client.get(f"{path}?limit=2&q=gamma", headers=headers).json()
    assert [c["public_name"] for c in narrowed["collection"]] == ["Gamma Books"]
    assert narrowed["total_is_exact"] is True

    monkeypatch.setattr(pages, "ATTACH_CHOICES", 2)
    sign_in(client, world.users["eio"])
    page = client.get(f"/eresources/portfolios/{one.id}")
    assert "Showing the first 2 of more than 2: type to narrow." in page.text
    assert 'id="attach-q"' in page.text
    assert "Gamma Books" not in page.text
    page = client.get(f"/eresources/portfolios/{one.id}?q=Gamma")
    assert "Gamma Books" in page.text
    assert 'id="chooser-more"' not in page.text
    none = client.get(f"/eresources/portfolios/{one.id}?q=nothing-like-this")
    assert 'id="attach-none"' in none.text


def test_the_move_chooser_says_when_it_is_capped_and_narrows_by_name(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, svc = _service_with(db, world, None)
    _collections(db, world, "Alpha Journals", "Beta Journals", "Gamma Books")
    db.commit()
    pid = db.scalar(select(Portfolio.id).where(Portfolio.service_id == svc.id))
    monkeypatch.setattr(service_pages, "MOVE_CHOICES", 2)
    token = sign_in(client, world.users["eio"])
    move = f"/eresources/collections/{cid}/services/{svc.id}/move"
    page = client.post(move, data={"csrf_token": token, "portfolio": str(pid)})
    assert "Showing the first 2 of more than 2: type to narrow." in page.text
    assert "Gamma Books" not in page.text
    page = client.post(move, data={"csrf_token": token, "portfolio": str(pid), "q": "gamma"})
    assert "Gamma Books" in page.text
    assert 'id="chooser-more"' not in page.text


def test_add_local_portfolio_says_when_its_collections_are_capped(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _collections(db, world, "Alpha Journals", "Beta Journals")
    last, _ = collection(db, world.east, None, name="Gamma Books")
    record = bib(db, world.east)
    db.commit()
    monkeypatch.setattr(pages, "NEW_PORTFOLIO_CHOICES", 2)
    sign_in(client, world.users["eio"])
    path = f"/eresources/bibs/{record.id}/portfolios/new"
    page = client.get(path)
    assert "Showing the first 2 of more than 2: type to narrow." in page.text
    assert "Gamma Books" not in page.text
    assert "Gamma Books" in client.get(f"{path}?q=gamma").text
    # the chosen collection is kept even when the first choices leave it out
    chosen = client.get(f"{path}?collection_id={last.id}")
    assert f'<option value="{last.id}" selected>Gamma Books' in chosen.text
    assert 'name="portfolio_type" value="PART_OF_ELECTRONIC_COLLECTION"' in chosen.text


def test_the_set_list_says_when_it_is_capped_and_narrows_by_name(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consortia.access.identity import identity_of
    from consortia.eresources import import_pages, sets

    repository = world.users["repo"]
    for name in ("Alpha set", "Beta set", "Gamma set"):
        sets.create_set(db, identity_of(repository), world.east, name=name, member_ids=[])
    db.commit()
    monkeypatch.setattr(import_pages, "SET_LIST", 2)
    sign_in(client, repository)
    page = client.get("/eresources/sets")
    assert "Showing the first 2 of more than 2: type to narrow." in page.text
    assert "Gamma set" not in page.text
    narrowed = client.get("/eresources/sets?q=gamma")
    assert "Gamma set" in narrowed.text
    assert 'id="chooser-more"' not in narrowed.text


def test_the_import_profile_collections_say_when_they_are_capped(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consortia.access.identity import identity_of
    from consortia.eresources import import_pages, import_profiles

    _collections(db, world, "Alpha Journals", "Beta Journals")
    last, _ = collection(db, world.east, None, name="Gamma Books")
    profile = import_profiles.create_profile(
        db,
        identity_of(world.users["eio"]),
        world.east,
        import_profiles.ProfileChange(
            name="Gamma", portfolio_type="PART_OF_ELECTRONIC_COLLECTION", collection_id=str(last.id)
        ),
    )
    db.commit()
    monkeypatch.setattr(import_pages, "PROFILE_COLLECTIONS", 2)
    sign_in(client, world.users["eio"])
    listing = client.get("/eresources/import-profiles")
    assert "Showing the first 2 of more than 2: type to narrow." in listing.text
    assert "Gamma Books" not in listing.text.split('id="profile-form"')[1]
    assert "Gamma Books" in client.get("/eresources/import-profiles?q=gamma").text.split('id="profile-form"')[1]
    # a profile's own collection stays among its choices, selected
    own = client.get(f"/eresources/import-profiles/{profile.id}")
    assert f'<option value="{last.id}" selected>Gamma Books' in own.text
