"""ER-7, ER-8 with the seed: "If role is library-level, then you can select only from libraries defined on
user role(s)". A resource without a library is at institution level, in scope of institution-scope roles
only, so "None" is not among a library-scoped person's choices for an existing collection or portfolio:
the editors do not offer it and the verbs refuse it (400 naming the field and the reason), nothing saved.
Institution scope, the operator, and anyone while the switch is off keep it. Creating a resource without a
library stays open to library-scoped people (ER-23: it is then at institution level); the creation forms
say what that means for them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from consortia.eresources.models import ElectronicCollection, Portfolio
from tests.eresources.conftest import World, bib, build_world, collection, portfolio
from tests.factories import Factory
from tests.support.conftest import sign_in

API = "/api/v1/eresources"
ALMA = "/almaws/v1"
NONE_OPTION = '<option value="">None'


def message(response: object) -> str:
    return str(response.json()["errorList"]["error"][0]["errorMessage"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "switch", "none"),
    [
        ("eio_law", True, False),
        ("ext_law", True, False),
        ("eio_law_po_main", True, False),
        ("eio", True, True),
        ("po", True, True),
        ("operator", True, True),
        ("eio_law", False, True),  # ER-2: with the switch off the role reaches everything
    ],
)
def test_none_is_a_choice_of_institution_scope_only(
    client: TestClient, db: Session, factory: Factory, name: str, switch: bool, none: bool
) -> None:
    world = build_world(factory, switch=switch)
    coll, _svc = collection(db, world.east, world.law, name="Law")
    alone = portfolio(db, world.east, library=world.law)
    db.commit()
    headers = world.key(name)
    query = "?institution=EAST" if name == "operator" else ""

    # the editors' faces: the choice is offered or not
    for path in (f"{API}/collections/{coll.id}/editor", f"{API}/portfolios/{alone.id}/editor"):
        editor = client.get(path + query, headers=headers).json()
        assert editor["mode"] == "EDIT", path
        assert editor["library_none_choice"] is none, path

    # the verbs: refused with the reason, or done
    put = client.put(
        f"{ALMA}/bibs/{alone.bib_id}/portfolios/{alone.id}{query}", json={"library": {"value": ""}}, headers=headers
    )
    put_collection = client.put(
        f"{ALMA}/electronic/e-collections/{coll.id}{query}", json={"library": {"value": ""}}, headers=headers
    )
    db.expire_all()
    for response, row in ((put, db.get(Portfolio, alone.id)), (put_collection, db.get(ElectronicCollection, coll.id))):
        assert row is not None
        if none:
            assert response.status_code == 200, response.text
            assert row.library_id is None
        else:
            assert response.status_code == 400, response.text
            assert message(response).startswith("library: None is not among your choices")
            assert "institution level" in message(response)
            assert row.library_id == world.law.id


def test_the_pages_offer_none_to_institution_scope_only(client: TestClient, db: Session, world: World) -> None:
    coll, _svc = collection(db, world.east, world.law, name="Law")
    alone = portfolio(db, world.east, library=world.law)
    db.commit()
    token = sign_in(client, world.users["eio_law"])
    collection_page = client.get(f"/eresources/collections/{coll.id}")
    assert 'id="library-select"' in collection_page.text
    assert NONE_OPTION not in collection_page.text
    portfolio_page = client.get(f"/eresources/portfolios/{alone.id}")
    assert 'id="library-select"' in portfolio_page.text
    assert NONE_OPTION not in portfolio_page.text
    # a forged form is refused with the reason, nothing changed
    forged = client.post(f"/eresources/collections/{coll.id}/library", data={"csrf_token": token, "library": ""})
    assert forged.status_code == 400
    assert "None is not among your choices" in forged.text
    forged = client.post(
        f"/eresources/portfolios/{alone.id}/update",
        data={"csrf_token": token, "library_field": "yes", "library": ""},
    )
    assert forged.status_code == 400
    assert "None is not among your choices" in forged.text
    db.expire_all()
    assert db.get(ElectronicCollection, coll.id).library_id == world.law.id  # type: ignore[union-attr]
    assert db.get(Portfolio, alone.id).library_id == world.law.id  # type: ignore[union-attr]

    token = sign_in(client, world.users["eio"])
    assert NONE_OPTION in client.get(f"/eresources/collections/{coll.id}").text
    editor = client.get(f"/eresources/portfolios/{alone.id}").text
    assert NONE_OPTION in editor
    assert 'name="library_field" value="yes"' in editor
    # institution scope: the editor's "None" takes the library off (an empty field alone would change nothing)
    done = client.post(
        f"/eresources/portfolios/{alone.id}/update",
        data={"csrf_token": token, "library_field": "yes", "library": ""},
    )
    assert done.status_code == 200
    db.expire_all()
    assert db.get(Portfolio, alone.id).library_id is None  # type: ignore[union-attr]


def test_creating_without_a_library_stays_open_and_says_what_it_means(
    client: TestClient, db: Session, world: World
) -> None:
    """ER-23: a library-scoped person may create at institution level; the form says they could not edit it."""
    record = bib(db, world.east)
    db.commit()
    sign_in(client, world.users["eio_law"])
    for path in (f"/eresources/bibs/{record.id}/portfolios/new", "/eresources/collections"):
        text = client.get(path).text
        assert "None (institution level): outside your role scope, you could not edit it" in text, path
    made = client.post(f"{ALMA}/bibs/{record.id}/portfolios", json={}, headers=world.key("eio_law"))
    assert made.status_code == 200, made.text
    assert made.json()["library"]["value"] == ""
    sign_in(client, world.users["eio"])
    text = client.get(f"/eresources/bibs/{record.id}/portfolios/new").text
    assert "None (institution level)</option>" in text
