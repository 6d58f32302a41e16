"""ER-18 (ordered electronic items on a PO line editable only in scope) and ER-19 (a licence's Inventory tab
opening editors in Edit mode in scope, View mode otherwise), through the API and the pages."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import identity_of
from consortia.audit.models import HistoryEvent
from consortia.eresources import acquisitions as acq
from consortia.eresources.task_models import PoLine
from tests.eresources.conftest import PEOPLE, World, build_world, collection, portfolio
from tests.eresources.test_scope_matrix import EDITING, may
from tests.factories import Factory
from tests.support.conftest import sign_in

ACQ = "/api/v1/acq"


def message(response: Any) -> str:
    return str(response.json()["errorList"]["error"][0]["errorMessage"])


def ordered(db: Session, world: World) -> tuple[PoLine, dict[str | None, int]]:
    """A PO line ordering a portfolio of LAW, one inheriting SCI, one at institution level and a collection of
    MAIN; answers the line and its item ids by effective library."""
    _c, sci_service = collection(db, world.east, world.sci, name="Sci")
    main, _s = collection(db, world.east, world.main, name="Main")
    resources: dict[str | None, Any] = {
        "law": portfolio(db, world.east, library=world.law, title="Law"),
        "sci": portfolio(db, world.east, library=world.law, service=sci_service, title="Sci"),
        None: portfolio(db, world.east, title="Everyone"),
        "main": main,
    }
    line = acq.create_po_line(
        db, identity_of(world.users["eio"]), world.east, number="POL-1", resources=list(resources.values())
    )
    for resource in resources.values():
        resource.license = "LIC-1"
    acq.create_license(db, identity_of(world.users["eio"]), world.east, "LIC-1", "A licence")
    db.commit()
    ids = {lib: item.id for lib, item in zip(resources, line.items, strict=True)}
    return line, ids


def test_ordered_items_can_be_edited_only_in_scope(client: TestClient, db: Session, world: World) -> None:
    """Seed: "When editing the PO line, under the "Ordered Items" section, the editing actions are disabled
    for the resources whose library does not match the user role scopes"."""
    line, ids = ordered(db, world)
    headers = world.key("eio_law")
    body = client.get(f"{ACQ}/po-lines/{line.id}", headers=headers).json()
    actions = {item["id"]: item["actions"] for item in body["item"]}
    assert actions == {str(ids["law"]): ["edit"], str(ids["sci"]): [], str(ids[None]): [], str(ids["main"]): []}
    assert body["total_record_count"] == 4
    put = client.put(f"{ACQ}/po-lines/{line.id}/items/{ids['law']}", json={"coverage": "2020 -"}, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["coverage"] == "2020 -"
    history = db.scalars(
        select(HistoryEvent).where(HistoryEvent.entity == "po_line_item", HistoryEvent.entity_id == str(ids["law"]))
    ).all()
    assert [(h.field, h.new) for h in history] == [("coverage", "2020 -")]
    refused = client.put(f"{ACQ}/po-lines/{line.id}/items/{ids['sci']}", json={"note": "x"}, headers=headers)
    assert refused.status_code == 403
    assert "EAST_SCI" in message(refused)
    stale = client.put(
        f"{ACQ}/po-lines/{line.id}/items/{ids['law']}", json={"note": "y", "version": 1}, headers=headers
    )
    assert stale.status_code == 409


def test_other_institution_and_unknown_ids_are_not_found(client: TestClient, db: Session, world: World) -> None:
    line, ids = ordered(db, world)
    west = world.key("west_eio")
    east = world.key("eio")
    assert client.get(f"{ACQ}/po-lines/{line.id}", headers=west).status_code == 404
    assert client.get(f"{ACQ}/po-lines/99999999", headers=west).status_code == 404
    assert message(client.get(f"{ACQ}/po-lines/{line.id}", headers=west)).replace(str(line.id), "N") == message(
        client.get(f"{ACQ}/po-lines/99999999", headers=west)
    ).replace("99999999", "N")
    assert client.put(f"{ACQ}/po-lines/{line.id}/items/{ids['law']}", json={}, headers=west).status_code == 404
    assert client.put(f"{ACQ}/po-lines/{line.id}/items/99999999", json={}, headers=east).status_code == 404
    assert client.get(f"{ACQ}/licenses/LIC-1/inventory", headers=west).status_code == 404
    assert client.get(f"{ACQ}/licenses/NOPE/inventory", headers=east).status_code == 404


@pytest.mark.parametrize("switch", [True, False], ids=["limits-on", "limits-off"])
@pytest.mark.parametrize("name", [*PEOPLE, "west_eio", "operator"])
def test_po_line_item_scope_matrix(client: TestClient, factory: Factory, db: Session, name: str, switch: bool) -> None:
    """Role x scope x effective library x switch for editing an ordered item (ER-18) and the licence link's
    mode (ER-19), expected from the SPEC (test_scope_matrix.may)."""
    world = build_world(factory, switch=switch)
    line, ids = ordered(db, world)
    headers = world.key(name)
    query = "?institution=EAST" if name == "operator" else ""
    staff = name not in ("patron", "west_eio")
    sep = "&" if query else "?"
    inventory = client.get(f"{ACQ}/licenses/LIC-1/inventory{query}{sep}limit=100", headers=headers)
    if staff:
        modes = {
            (i["kind"], i["library"]["value"] if i["library"] else None): i["mode"] for i in inventory.json()["item"]
        }
    for lib, item_id in ids.items():
        answer = client.put(f"{ACQ}/po-lines/{line.id}/items/{item_id}{query}", json={"note": "n"}, headers=headers)
        allowed = may(name, EDITING, lib, switch)
        expected = 404 if not staff else 200 if allowed else 403
        assert answer.status_code == expected, (name, lib, answer.text)
        if staff:
            kind = "electronic_collection" if lib == "main" else "portfolio"
            assert modes[(kind, f"EAST_{lib.upper()}" if lib else None)] == ("EDIT" if allowed else "VIEW")


def test_license_inventory_opens_editors_in_edit_or_view_mode(client: TestClient, db: Session, world: World) -> None:
    """Seed: "If the electronic collection/portfolio is within the user's role's scope - the editor opens in
    Edit mode. If ... not within the user's role's scope - the editor opens in View mode"."""
    _line, _ids = ordered(db, world)
    headers = world.key("eio_law")
    items = client.get(f"{ACQ}/licenses/lic-1/inventory?limit=100", headers=headers).json()["item"]
    assert [i["kind"] for i in items] == ["electronic_collection", "portfolio", "portfolio", "portfolio"]
    for item in items:
        in_scope = item["library"] is not None and item["library"]["value"] == "EAST_LAW"
        assert item["mode"] == ("EDIT" if in_scope else "VIEW"), item
        editor = client.get(item["editor"].replace("http://testserver", ""), headers=headers).json()
        assert editor["mode"] == item["mode"]
    page = client.get(f"{ACQ}/licenses/LIC-1/inventory?limit=2&offset=2", headers=headers).json()
    assert page["total_record_count"] == 4
    assert len(page["item"]) == 2


def test_po_line_and_license_pages(client: TestClient, db: Session, world: World) -> None:
    line, ids = ordered(db, world)
    token = sign_in(client, world.users["eio_law"])
    page = client.get(f"/acq/po-lines/{line.id}")
    assert page.status_code == 200
    assert f'id="item-form-{ids["law"]}"' in page.text
    assert f'id="item-form-{ids["sci"]}"' not in page.text
    assert f'id="item-read-only-{ids["sci"]}"' in page.text
    saved = client.post(
        f"/acq/po-lines/{line.id}/items/{ids['law']}",
        data={"csrf_token": token, "note": "Renewed"},
        follow_redirects=True,
    )
    assert "The ordered item was saved." in saved.text
    refused = client.post(f"/acq/po-lines/{line.id}/items/{ids['sci']}", data={"csrf_token": token, "note": "x"})
    assert refused.status_code == 403
    assert client.get("/acq/po-lines").status_code == 200
    assert client.get("/acq/licenses").status_code == 200
    inventory = client.get("/acq/licenses/LIC-1")
    assert inventory.status_code == 200
    assert inventory.text.count('data-mode="EDIT"') == 1
    assert inventory.text.count('data-mode="VIEW"') == 3
