"""ER-14 (Community Zone Updates Task List) and ER-15 (Electronic Resource Activation Task List) through the
API and the pages: where items come from, per-row actions and selection boxes from the scope rule, Dismiss
Selected refusing out-of-scope items, Dismiss All handling in-scope items only and counting the skipped,
each activation action allowed only in scope, history of every change, and the two faces of the rule
agreeing on every item for every person."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.audit.models import SYSTEM, HistoryEvent
from consortia.eresources import task_items, tasks
from consortia.eresources.models import Portfolio
from consortia.eresources.task_models import (
    ACTIVATED_FROM_CZ,
    CZ_UPDATES,
    DISMISSED,
    OPEN,
    PORTFOLIO_UPDATED,
    EresourceTask,
)
from tests.eresources.conftest import PEOPLE, World, build_world, collection, portfolio
from tests.eresources.test_scope_matrix import DELETING, EDITING, may
from tests.factories import Factory
from tests.support.conftest import sign_in

API = "/api/v1/eresources/task-lists"


def message(response: Any) -> str:
    return str(response.json()["errorList"]["error"][0]["errorMessage"])


def cz_items(db: Session, world: World) -> dict[str | None, EresourceTask]:
    """One CZ update item per effective library: None (institution level), law (own), sci (inherited)."""
    _c, sci_service = collection(db, world.east, world.sci, name="Sci")
    resources = {
        None: portfolio(db, world.east, title="Institution wide"),
        "law": portfolio(db, world.east, library=world.law, title="Law own"),
        "sci": portfolio(db, world.east, library=world.law, service=sci_service, title="Sci inherited"),
    }
    items = task_items.add_cz_update_items(db, PORTFOLIO_UPDATED, resources.values(), SYSTEM)
    db.commit()
    return dict(zip(resources, items, strict=True))


def listed(client: TestClient, headers: dict[str, str], path: str = "cz-updates") -> dict[str, dict[str, Any]]:
    answer = client.get(f"{API}/{path}?limit=100", headers=headers)
    assert answer.status_code == 200, answer.text
    return {t["id"]: t for t in answer.json().get("task", [])}


def test_a_cz_change_puts_an_item_in_the_list_of_every_activating_institution(
    client: TestClient, db: Session, world: World
) -> None:
    """API.md: a change to a CZ resource puts an item in the CZ Updates Task List of every institution that
    activated it; the item names the institution's own copy, and the other institution never sees it."""
    operator = world.key("operator")
    made = client.post(
        "/api/v1/cz/collections",
        json={"public_name": "CZ Pack", "portfolios": [{"title": "One"}, {"title": "Two"}]},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    cz_id = made.json()["id"]
    east, west = world.key("eio"), world.key("west_eio")
    assert client.post(f"/api/v1/cz/collections/{cz_id}/activate", headers=east).status_code == 200
    assert client.post(f"/api/v1/cz/collections/{cz_id}/activate", headers=west).status_code == 200
    pid = made.json()["portfolios"][0]["id"]
    changed = client.patch(f"/api/v1/cz/portfolios/{pid}", json={"coverage": "2001 -"}, headers=operator)
    assert changed.status_code == 200, changed.text
    east_items = [t for t in listed(client, east).values() if t["report_type"] == PORTFOLIO_UPDATED]
    west_items = [t for t in listed(client, west).values() if t["report_type"] == PORTFOLIO_UPDATED]
    assert len(east_items) == len(west_items) == 1
    east_copy = db.get(Portfolio, int(east_items[0]["resource"]["id"]))
    assert east_copy is not None
    assert east_copy.institution_id == world.east.id
    assert east_items[0]["resource"]["kind"] == "portfolio"
    # deleting the CZ collection: "Collection deleted in CZ" for each copy
    assert client.delete(f"/api/v1/cz/collections/{cz_id}", headers=operator).status_code == 204
    reports = [t["report_type"] for t in listed(client, east).values()]
    assert "Collection deleted in CZ" in reports
    # and the activation put the collection in the Activation Task List (ER-15)
    activation = [t for t in listed(client, east, "activation").values() if t["report_type"] == ACTIVATED_FROM_CZ]
    assert len(activation) == 1
    assert activation[0]["resource"]["kind"] == "electronic_collection"


def test_edit_and_dismiss_only_for_in_scope_items(client: TestClient, db: Session, world: World) -> None:
    """Seed: "the below editing actions are now disabled for Report Type resources whose library does not
    match the library defined in the scope of the user roles: Edit, Dismiss"."""
    items = cz_items(db, world)
    found = listed(client, world.key("eio_law"))
    assert found[str(items["law"].id)]["actions"] == ["edit", "dismiss"]
    assert found[str(items["law"].id)]["selectable"] is True
    for lib in (None, "sci"):
        assert found[str(items[lib].id)]["actions"] == []
        assert found[str(items[lib].id)]["selectable"] is False
    assert found[str(items["sci"].id)]["library"]["value"] == "EAST_SCI"
    assert found[str(items[None].id)]["library"] is None
    everywhere = listed(client, world.key("eio"))
    assert all(t["actions"] == ["edit", "dismiss"] for t in everywhere.values())


def test_dismiss_selected_cannot_include_out_of_scope_items(client: TestClient, db: Session, world: World) -> None:
    """Seed: "resources that are out of scope cannot be selected": the whole request is refused, naming them."""
    items = cz_items(db, world)
    headers = world.key("eio_law")
    ids = [str(items["law"].id), str(items["sci"].id)]
    refused = client.post(f"{API}/cz-updates/dismiss", json={"ids": ids}, headers=headers)
    assert refused.status_code == 403
    assert str(items["sci"].id) in message(refused)
    assert str(items["law"].id) not in message(refused).split(":")[-2]
    db.expire_all()
    assert db.get(EresourceTask, items["law"].id).status == OPEN  # type: ignore[union-attr]
    ok = client.post(f"{API}/cz-updates/dismiss", json={"ids": [str(items["law"].id)]}, headers=headers)
    assert ok.status_code == 200
    assert ok.json() == {"dismissed": 1}
    db.expire_all()
    law = db.get(EresourceTask, items["law"].id)
    assert law is not None
    assert law.status == DISMISSED
    assert law.closed_by
    assert law.closed_at
    rows = db.scalars(
        select(HistoryEvent).where(HistoryEvent.entity == "eresource_task", HistoryEvent.entity_id == str(law.id))
    ).all()
    assert [(r.field, r.old, r.new) for r in rows][-1] == ("status", OPEN, DISMISSED)


def test_unknown_and_other_institution_ids_answer_alike(client: TestClient, db: Session, world: World) -> None:
    """R-3: an id of another institution is refused exactly like an unknown one (400 naming the field)."""
    _c, west_service = collection(db, world.west, world.west_lib, name="West")
    west_item = task_items.add_cz_update_items(
        db, PORTFOLIO_UPDATED, [portfolio(db, world.west, service=west_service)], SYSTEM
    )
    db.commit()
    headers = world.key("eio")
    foreign = client.post(f"{API}/cz-updates/dismiss", json={"ids": [str(west_item[0].id)]}, headers=headers)
    unknown = client.post(f"{API}/cz-updates/dismiss", json={"ids": ["99999999"]}, headers=headers)
    assert foreign.status_code == unknown.status_code == 400
    assert message(foreign).replace(str(west_item[0].id), "N") == message(unknown).replace("99999999", "N")
    assert message(foreign).startswith("ids:")
    assert str(west_item[0].id) not in listed(client, headers)
    missing = client.post(f"{API}/activation/{west_item[0].id}/done", headers=headers)
    assert missing.status_code == 404


def test_dismiss_all_handles_in_scope_items_and_reports_the_skipped(
    client: TestClient, db: Session, world: World
) -> None:
    """Seed: "If you select "Dismiss All", only resources that are within your role scope is handled, and
    resources that are out of the user scope are skipped"."""
    items = cz_items(db, world)
    answer = client.post(f"{API}/cz-updates/dismiss-all", headers=world.key("eio_law"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"dismissed": 1, "skipped": 2}
    db.expire_all()
    assert {lib: db.get(EresourceTask, t.id).status for lib, t in items.items()} == {  # type: ignore[union-attr]
        None: OPEN,
        "law": DISMISSED,
        "sci": OPEN,
    }
    history = db.scalars(
        select(HistoryEvent).where(HistoryEvent.entity == "eresource_task", HistoryEvent.field == "status")
    ).all()
    assert [(h.entity_id, h.old, h.new) for h in history] == [(str(items["law"].id), OPEN, DISMISSED)]
    again = client.post(f"{API}/cz-updates/dismiss-all", headers=world.key("eio_law"))
    assert again.json() == {"dismissed": 0, "skipped": 2}
    rest = client.post(f"{API}/cz-updates/dismiss-all", headers=world.key("eio"))
    assert rest.json() == {"dismissed": 2, "skipped": 0}


@pytest.mark.parametrize("switch", [True, False], ids=["limits-on", "limits-off"])
@pytest.mark.parametrize("name", [*PEOPLE, "west_eio", "operator"])
def test_task_scope_matrix(client: TestClient, db: Session, factory: Factory, name: str, switch: bool) -> None:
    """Role x scope x effective library x switch, for Dismiss (ER-14) and every Activation action (ER-15):
    the expectation is written from the SPEC (tests/eresources/test_scope_matrix.may), not from the rule."""
    world = build_world(factory, switch=switch)
    headers = world.key(name)
    query = "?institution=EAST" if name == "operator" else ""
    staff = name not in ("patron", "west_eio")
    cz = cz_items(db, world)
    _c, sci_service = collection(db, world.east, world.sci, name="Sci 2")
    resources = {
        None: portfolio(db, world.east, title="a"),
        "law": portfolio(db, world.east, library=world.law, title="b"),
        "sci": portfolio(db, world.east, library=world.main, service=sci_service, title="c"),
    }
    activation = {lib: task_items.add_activation_item(db, ACTIVATED_FROM_CZ, r, SYSTEM) for lib, r in resources.items()}
    db.commit()
    for lib, item in cz.items():
        allowed = may(name, EDITING, lib, switch)
        answer = client.post(f"{API}/cz-updates/dismiss{query}", json={"ids": [str(item.id)]}, headers=headers)
        expected = (200 if allowed else 403) if staff else (400 if name == "west_eio" else 403)
        assert answer.status_code == expected, (name, lib, answer.text)
    for lib, item in activation.items():
        for action in ("edit", "edit_resource", "activate", "unsuppress", "change_status", "done", "delete"):
            allowed = may(name, DELETING if action == "delete" else EDITING, lib, switch)
            body = {"note": "n", "status": "IN_REVIEW", "coverage": "2000 -"}
            answer = client.post(f"{API}/activation/{item.id}/{action}{query}", json=body, headers=headers)
            # an item its caller may not see (not staff of EAST) is not found, like an unknown one
            expected = 404 if not staff else 200 if allowed else 403
            assert answer.status_code == expected, (name, lib, action, answer.text)
            if answer.status_code == 200:
                assert answer.json()["id"] == str(item.id)
        if may(name, EDITING, lib, switch) and staff:
            events = db.scalars(
                select(HistoryEvent.field).where(
                    HistoryEvent.entity == "eresource_task", HistoryEvent.entity_id == str(item.id)
                )
            ).all()
            assert {"note", "suppressed", "status"} <= set(events)


def test_the_two_faces_of_the_rule_agree_on_every_item(client: TestClient, db: Session, factory: Factory) -> None:
    """For every person, the items the SQL face puts in scope are exactly those the per-row actions (the
    Python face) make selectable."""
    world = build_world(factory)
    libraries = {None: None, "law": world.law, "sci": world.sci, "main": world.main}
    for coll_lib in (None, "law", "sci", "standalone"):
        svc = None
        if coll_lib != "standalone":
            _c, svc = collection(db, world.east, libraries[coll_lib], name=f"c-{coll_lib}")
            task_items.add_cz_update_items(db, "Collection updated in CZ", [_c], SYSTEM)
        for own in (None, "law", "main"):
            p = portfolio(db, world.east, library=libraries[own], service=svc, title=f"{coll_lib}-{own}")
            task_items.add_cz_update_items(db, PORTFOLIO_UPDATED, [p], SYSTEM)
    db.commit()
    from consortia.access.identity import identity_of
    from consortia.access.permissions import Permission as P

    for name in PEOPLE:
        if name == "patron":
            continue  # not staff: sees no list at all
        identity = identity_of(world.users[name])
        page = tasks.task_page(db, identity, world.east, CZ_UPDATES, limit=1000)
        python_face = {r.task.id for r in page.rows if r.selectable}
        sql_face = set(
            db.scalars(
                tasks.with_resources(select(EresourceTask.id)).where(
                    EresourceTask.institution_id == world.east.id,
                    tasks.items_in_scope(db, identity, world.east.id, P.TASK_EDIT),
                )
            )
        )
        assert python_face == sql_face, name
        assert page.in_scope == len(sql_face)


def test_task_list_pages(client: TestClient, db: Session, world: World) -> None:
    """The Review tab: disabled boxes out of scope, Dismiss only in scope, Dismiss All's message with the
    skipped count; the Activation page: no box and no actions out of scope."""
    items = cz_items(db, world)
    law_portfolio = db.get(Portfolio, items["law"].portfolio_id)
    sci_portfolio = db.get(Portfolio, items["sci"].portfolio_id)
    inside = task_items.add_activation_item(db, ACTIVATED_FROM_CZ, law_portfolio, SYSTEM)  # type: ignore[arg-type]
    outside = task_items.add_activation_item(db, ACTIVATED_FROM_CZ, sci_portfolio, SYSTEM)  # type: ignore[arg-type]
    db.commit()
    token = sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/task-lists/cz-updates")
    assert page.status_code == 200
    assert f'id="select-{items["sci"].id}" aria-label="Select item {items["sci"].id}" disabled' in page.text
    assert f'id="select-{items["law"].id}" aria-label="Select item {items["law"].id}">' in page.text
    assert f'id="dismiss-{items["law"].id}"' in page.text
    assert f'id="dismiss-{items["sci"].id}"' not in page.text
    refused = client.post(
        "/eresources/task-lists/cz-updates/dismiss", data={"csrf_token": token, "ids": [str(items["sci"].id)]}
    )
    assert refused.status_code == 403
    done = client.post(
        "/eresources/task-lists/cz-updates/dismiss-all", data={"csrf_token": token}, follow_redirects=True
    )
    assert "1 item dismissed; 2 skipped (out of your role scope)." in done.text
    activation = client.get("/eresources/task-lists/activation")
    assert f'id="select-{inside.id}"' in activation.text
    assert f'id="select-{outside.id}"' not in activation.text
    assert f'id="activate-{inside.id}"' in activation.text
    assert f'id="activate-{outside.id}"' not in activation.text
    assert f'id="delete-{inside.id}"' not in activation.text  # Extended only
    acted = client.post(
        f"/eresources/task-lists/activation/{inside.id}/change_status",
        data={"csrf_token": token, "status": "IN_REVIEW"},
        follow_redirects=True,
    )
    assert acted.status_code == 200
    db.expire_all()
    assert db.get(EresourceTask, inside.id).status == "IN_REVIEW"  # type: ignore[union-attr]


def test_activation_actions_and_selection_only_in_scope(client: TestClient, db: Session, world: World) -> None:
    """Seed (ER-15): "the below actions are disabled for resources whose library does not match the user scope
    of your role: Edit, Edit Resource, Activate, Done, Delete (enabled only for the Electronic Inventory
    Operator Extended role), Unsuppress, Change Status" and "the selection checkbox does not appear by
    resources whose library (set either explicitly or by inheritance) does not match"."""
    _c, sci_service = collection(db, world.east, world.sci, name="Sci")
    law = task_items.add_activation_item(db, ACTIVATED_FROM_CZ, portfolio(db, world.east, library=world.law), SYSTEM)
    sci = task_items.add_activation_item(
        db, ACTIVATED_FROM_CZ, portfolio(db, world.east, library=world.law, service=sci_service), SYSTEM
    )
    db.commit()
    editing = ["edit", "edit_resource", "activate", "done", "unsuppress", "change_status"]
    found = listed(client, world.key("eio_law"), "activation")
    assert (found[str(law.id)]["actions"], found[str(law.id)]["selectable"]) == (editing, True)
    assert (found[str(sci.id)]["actions"], found[str(sci.id)]["selectable"]) == ([], False)
    extended = listed(client, world.key("ext_law"), "activation")
    assert extended[str(law.id)]["actions"] == [*editing[:4], "delete", *editing[4:]]
    # EIO for LAW, Extended for SCI: Delete alone on the SCI item (delete needs no editing role)
    mixed = listed(client, world.key("ext_sci"), "activation")
    assert mixed[str(sci.id)]["actions"] == ["delete"]
    assert mixed[str(law.id)]["actions"] == editing
    refused = client.post(f"{API}/activation/{sci.id}/activate", headers=world.key("eio_law"))
    assert refused.status_code == 403
    assert "EAST_SCI" in message(refused)
    activated = client.post(f"{API}/activation/{law.id}/activate", headers=world.key("eio_law"))
    assert activated.json()["status"]["value"] == "DONE"


def test_an_action_on_selected_activation_items_is_all_or_nothing(
    client: TestClient, db: Session, world: World
) -> None:
    """ER-15 selection: only in-scope items can be selected, so a selection with an out-of-scope item
    changes nothing and names it (API and page); an in-scope selection is acted on as a whole, with
    history per item; Delete on a selection still needs Extended."""
    _c, sci_service = collection(db, world.east, world.sci, name="Sci")
    law = [
        task_items.add_activation_item(db, ACTIVATED_FROM_CZ, portfolio(db, world.east, library=world.law), SYSTEM)
        for _ in range(2)
    ]
    sci = task_items.add_activation_item(
        db, ACTIVATED_FROM_CZ, portfolio(db, world.east, library=world.law, service=sci_service), SYSTEM
    )
    db.commit()
    headers = world.key("eio_law")
    law_ids = [str(t.id) for t in law]
    refused = client.post(f"{API}/activation/done", json={"ids": [*law_ids, str(sci.id)]}, headers=headers)
    assert refused.status_code == 403
    assert str(sci.id) in message(refused)
    db.expire_all()
    assert {db.get(EresourceTask, t.id).status for t in law} == {OPEN}  # type: ignore[union-attr]
    no_delete = client.post(f"{API}/activation/delete", json={"ids": law_ids}, headers=headers)
    assert no_delete.status_code == 403
    bad_status = client.post(
        f"{API}/activation/change_status", json={"ids": law_ids, "status": "NOPE"}, headers=headers
    )
    assert bad_status.status_code == 400
    assert message(bad_status).startswith("status:")
    unknown_action = client.post(f"{API}/activation/edit", json={"ids": law_ids}, headers=headers)
    assert unknown_action.status_code == 400
    changed = client.post(
        f"{API}/activation/change_status", json={"ids": law_ids, "status": "IN_REVIEW"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"action": "change_status", "changed": 2}
    db.expire_all()
    assert {db.get(EresourceTask, t.id).status for t in law} == {"IN_REVIEW"}  # type: ignore[union-attr]
    for task in law:
        events = db.scalars(
            select(HistoryEvent).where(HistoryEvent.entity == "eresource_task", HistoryEvent.entity_id == str(task.id))
        ).all()
        assert [(e.field, e.new) for e in events][-1] == ("status", "IN_REVIEW")

    token = sign_in(client, world.users["eio_law"])
    page = client.get("/eresources/task-lists/activation")
    assert 'id="selection-form"' in page.text
    assert f'id="select-{law[0].id}" form="selection-form"' in page.text
    forged = client.post(
        "/eresources/task-lists/activation/selected",
        data={"csrf_token": token, "action": "done", "ids": [law_ids[0], str(sci.id)]},
    )
    assert forged.status_code == 403
    done = client.post(
        "/eresources/task-lists/activation/selected",
        data={"csrf_token": token, "action": "done", "ids": law_ids},
        follow_redirects=True,
    )
    assert "Done: done on 2 items." in done.text
    db.expire_all()
    assert {db.get(EresourceTask, t.id).status for t in law} == {"DONE"}  # type: ignore[union-attr]
    assert db.get(EresourceTask, sci.id).status == OPEN  # type: ignore[union-attr]
