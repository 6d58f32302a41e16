"""Support Center pages, signed in through the login form, as BASIC, STANDARD, CONSORTIA users and the operator."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from consortia.access import roles as R
from consortia.support.models import ConsortiaLicence, SupportCase
from tests.factories import Factory
from tests.support.conftest import CSRF_FIELD, SupportWorld, build_world, key, sign_in, support_user


def _post(client: TestClient, path: str, token: str, **data: object) -> object:
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_navigation_shows_support_to_contacts_and_admin_to_the_operator(
    client: TestClient, world: SupportWorld
) -> None:
    sign_in(client, world.east_basic)
    home = client.get("/").text
    assert 'href="/support/cases"' in home
    assert 'href="/support/admin"' not in home
    client.cookies.clear()
    nobody = support_user(world.factory, world.east, "east-none", "NONE")
    world.factory.session.commit()
    sign_in(client, nobody)
    assert 'href="/support/cases"' not in client.get("/").text
    assert client.get("/support/cases").status_code == 403
    client.cookies.clear()
    sign_in(client, world.operator)
    home = client.get("/").text
    assert 'href="/support/admin"' in home


def test_case_list_with_views_sorting_and_paging(client: TestClient, world: SupportWorld) -> None:
    for i in range(27):
        world.case(world.east_standard, subject=f"Case {i:02d}")
    world.case(world.west_standard, subject="Hidden west case")
    sign_in(client, world.east_standard)
    page = client.get("/support/cases")
    assert page.status_code == 200
    assert "My Institution&#39;s Cases" in page.text
    assert 'id="view-picker"' in page.text
    assert '<option value="partner-cases"' not in page.text
    assert "27 cases" in page.text
    assert page.text.count('id="case-row-') == 25
    assert 'id="next-page"' in page.text
    assert "Hidden west case" not in page.text
    second = client.get("/support/cases?view=my-institution&page=2")
    assert second.text.count('id="case-row-') == 2
    assert 'id="previous-page"' in second.text
    ascending = client.get("/support/cases?view=my-institution&sort=subject&dir=asc").text
    assert ascending.index("Case 00") < ascending.index("Case 01")
    assert 'aria-sort="ascending"' in ascending
    assert client.get("/support/cases?view=partner-cases").status_code == 404


def test_partner_list_page_shows_the_institution(client: TestClient, world: SupportWorld) -> None:
    shared = world.case(world.west_standard, share_with="CONSORTIUM", subject="Shared by West")
    sign_in(client, world.east_consortia)
    page = client.get("/support/cases?view=partner-cases")
    assert page.status_code == 200
    assert "Consortium/Partner Cases (Support Center)" in page.text
    assert f'id="case-row-{shared.number}"' in page.text
    assert '<abbr title="Western College">WEST</abbr>' in page.text
    case_page = client.get(f"/support/cases/{shared.number}")
    assert 'id="partner-read-only"' in case_page.text
    assert 'id="share-case-button"' not in case_page.text
    assert 'id="comment-form"' not in case_page.text
    assert 'id="update-case-form"' not in case_page.text


def test_new_case_form_offers_share_with_only_while_sharing_is_enabled(client: TestClient, factory: Factory) -> None:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    token = sign_in(client, world.east_basic)
    form = client.get("/support/cases/new").text
    assert 'id="share-with"' not in form
    response = _post(client, "/support/cases/new", token, subject="Printer", description="", share_with="CONSORTIUM")
    assert response.status_code == 403  # type: ignore[attr-defined]
    world.nlc.case_sharing_enabled = True
    factory.session.commit()
    form = client.get("/support/cases/new").text
    assert '<label for="share-with">Share with</label>' in form
    assert '<option value="INSTITUTION" selected>My Institution</option>' in form
    assert '<option value="CONSORTIUM">Northern Libraries Consortium</option>' in form
    response = _post(
        client,
        "/support/cases/new",
        token,
        subject="Printer jams",
        description="Jams daily",
        issue_type="Technical",
        priority="Low",
        share_with="CONSORTIUM",
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    case_page = client.get(location)
    assert "Printer jams" in case_page.text
    assert '<dd id="share-with-value">Northern Libraries Consortium</dd>' in case_page.text


def test_new_case_form_shows_errors(client: TestClient, world: SupportWorld) -> None:
    token = sign_in(client, world.east_standard)
    response = _post(client, "/support/cases/new", token, subject="", priority="Urgent")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert 'id="form-error"' in response.text  # type: ignore[attr-defined]


def test_share_case_pop_up(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_basic)
    token = sign_in(client, world.east_basic)
    page = client.get(f"/support/cases/{case.number}").text
    assert 'id="share-case-button"' in page
    assert '<dialog id="share-case-dialog"' in page
    assert '<label for="share-case-select">Share with</label>' in page
    # without JavaScript the button leads to the same form, open
    fallback = client.get(f"/support/cases/{case.number}/share").text
    assert '<dialog id="share-case-dialog" aria-labelledby="share-case-heading" open>' in fallback
    response = _post(client, f"/support/cases/{case.number}/sharing", token, share_with="CONSORTIUM")
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"/support/cases/{case.number}").text
    assert '<dd id="share-with-value">Northern Libraries Consortium</dd>' in page
    assert "<td>Share with</td><td>My Institution</td><td>Northern Libraries Consortium</td>" in page
    assert _post(client, f"/support/cases/{case.number}/sharing", token, share_with="ALL").status_code == 400  # type: ignore[attr-defined]


def test_status_comment_and_attachment_forms(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    token = sign_in(client, world.east_standard)
    page = client.get(f"/support/cases/{case.number}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    response = _post(
        client, f"/support/cases/{case.number}/update", token, version=version[1], status="In Progress", priority="High"
    )
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"/support/cases/{case.number}").text
    assert '<dd id="case-status">In Progress</dd>' in page
    assert '<dd id="case-priority">High</dd>' in page
    stale = _post(client, f"/support/cases/{case.number}/update", token, version=version[1], status="Solved")
    assert stale.status_code == 409  # type: ignore[attr-defined]
    assert _post(client, f"/support/cases/{case.number}/comments", token, text="Tried again").status_code == 303  # type: ignore[attr-defined]
    upload = client.post(
        f"/support/cases/{case.number}/attachments",
        data={"csrf_token": token},
        files={"file": ("steps.txt", b"1. renew", "text/plain")},
        follow_redirects=False,
    )
    assert upload.status_code == 303
    page = client.get(f"/support/cases/{case.number}").text
    assert "Tried again" in page
    assert "steps.txt" in page


def test_forms_need_the_csrf_token(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.east_standard)
    sign_in(client, world.east_standard)
    response = client.post(f"/support/cases/{case.number}/comments", data={"text": "x"}, follow_redirects=False)
    assert response.status_code == 403


def test_pages_hide_cases_of_others(client: TestClient, world: SupportWorld) -> None:
    case = world.case(world.west_standard)
    token = sign_in(client, world.east_consortia)
    assert client.get(f"/support/cases/{case.number}").status_code == 404
    assert _post(client, f"/support/cases/{case.number}/comments", token, text="x").status_code == 404  # type: ignore[attr-defined]


def test_clone_edit_and_delete_a_view(client: TestClient, world: SupportWorld) -> None:
    world.case(world.west_standard, share_with="CONSORTIUM", subject="Open shared", status="In Progress")
    world.case(world.west_standard, share_with="CONSORTIUM", subject="Solved shared", status="Solved")
    token = sign_in(client, world.east_consortia)
    page = client.get("/support/cases?view=partner-cases").text
    assert 'id="clone-view-form"' in page
    response = _post(client, "/support/views/partner-cases/clone", token, name="Open partner cases")
    assert response.status_code == 303  # type: ignore[attr-defined]
    editor_path = response.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    editor = client.get(editor_path)
    assert 'id="view-editor"' in editor.text
    view_id = editor_path.split("/")[3]
    saved = client.post(
        f"/support/views/{view_id}",
        data={
            "csrf_token": token,
            "name": "Open partner cases",
            "status": ["New", "In Progress", "Pending Customer"],
            "columns": ["number", "institution", "subject", "status"],
            "sort_field": "subject",
            "sort_direction": "asc",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    listed = client.get(f"/support/cases?view={view_id}").text
    assert "Open shared" in listed
    assert "Solved shared" not in listed
    assert 'id="edit-view-link"' in listed
    bad = client.post(f"/support/views/{view_id}", data={"csrf_token": token, "name": "x", "columns": ["colour"]})
    assert bad.status_code == 400
    assert client.get("/support/views/partner-cases/edit").status_code == 400
    deleted = _post(client, f"/support/views/{view_id}/delete", token)
    assert deleted.status_code == 303  # type: ignore[attr-defined]
    assert client.get(f"/support/cases?view={view_id}").status_code == 404


def test_sharing_request_page(client: TestClient, factory: Factory) -> None:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    token = sign_in(client, world.east_standard)
    assert 'id="sharing-request-link"' in client.get("/support/cases").text
    form = client.get("/support/sharing-request").text
    # the institution's own Support Center users are suggested; a partner's staff are never listed
    assert '<option value="east-sam">' in form
    assert "west-sue" not in form
    none = client.post("/support/sharing-request", data={"csrf_token": token}, follow_redirects=False)
    assert none.status_code == 400
    assert "Name at least one contact." in none.text
    response = client.post(
        "/support/sharing-request",
        data={"csrf_token": token, "contact_institution": ["EAST"], "contact_primary_id": ["east-sam"]},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    case_page = client.get(response.headers["location"]).text
    assert "Set up case sharing for Northern Libraries Consortium</h1>" in case_page


def test_operator_enables_sharing_from_the_request_in_one_step(client: TestClient, factory: Factory) -> None:
    world = build_world(factory, sharing=False)
    factory.session.commit()
    response = client.post(
        "/api/v1/support/sharing-requests",
        json={"consortium": "NLC", "contacts": [{"institution": "EAST", "primary_id": "east-sam"}]},
        headers=key(factory, world.east_standard),
    )
    number = response.json()["number"]
    token = sign_in(client, world.operator)
    admin = client.get("/support/admin").text
    assert f'id="request-{number}"' in admin
    case_page = client.get(f"/support/cases/{number}").text
    assert 'id="resolve-request-button"' in case_page
    done = _post(client, "/support/admin/consortia/NLC/case-sharing", token, enabled="true", request_case=number)
    assert done.status_code == 303  # type: ignore[attr-defined]
    page = client.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert '<dd id="case-status">Solved</dd>' in page
    assert 'id="warning"' in page  # EAST already had a Consortia user
    assert factory.session.scalars(
        select(ConsortiaLicence).where(ConsortiaLicence.user_id == world.east_standard.id)
    ).one()
    assert "no more than one" in page
    assert f'id="request-{number}"' not in client.get("/support/admin").text


def test_admin_pages_are_the_operators(client: TestClient, world: SupportWorld) -> None:
    sign_in(client, world.east_consortia)
    for path in ("/support/admin", "/support/admin/licences", "/support/admin/access-review"):
        assert client.get(path).status_code == 403, path


def test_licence_and_access_review_pages(client: TestClient, world: SupportWorld) -> None:
    token = sign_in(client, world.operator)
    page = client.get("/support/admin/licences").text
    assert 'id="licence-EAST-east-jane"' in page
    granted = _post(client, "/support/admin/licences", token, institution="EAST", primary_id="east-sam")
    assert granted.status_code == 303  # type: ignore[attr-defined]
    page = client.get(granted.headers["location"]).text  # type: ignore[attr-defined]
    assert 'id="warning"' in page
    assert 'id="licence-EAST-east-sam"' in page
    removed = _post(client, "/support/admin/licences/EAST/east-sam/remove", token)
    assert removed.status_code == 303  # type: ignore[attr-defined]
    assert 'id="licence-EAST-east-sam"' not in client.get("/support/admin/licences").text
    review = client.get("/support/admin/access-review?consortium=NLC").text
    assert 'id="review-table"' in review
    assert '<dd id="last-review">Never</dd>' in review
    marked = _post(client, "/support/admin/access-review/NLC", token)
    assert marked.status_code == 303  # type: ignore[attr-defined]
    assert "Never" not in client.get(marked.headers["location"]).text.split('id="last-review"')[1][:40]  # type: ignore[attr-defined]


def test_contacts_page_for_the_general_system_administrator(client: TestClient, world: SupportWorld) -> None:
    gsa = world.factory.user(world.east, "east-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="STANDARD")
    world.factory.session.commit()
    token = sign_in(client, gsa)
    assert 'id="contacts-link"' in client.get("/support/cases").text
    page = client.get("/support/contacts").text
    assert 'id="contact-east-bob"' in page
    assert "<option>CONSORTIA</option>" not in page
    response = _post(client, "/support/contacts/EAST/east-bob", token, support_level="STANDARD")
    assert response.status_code == 303  # type: ignore[attr-defined]
    world.factory.session.refresh(world.east_basic)
    assert world.east_basic.support_level == "STANDARD"
    assert _post(client, "/support/contacts/WEST/west-bea", token, support_level="STANDARD").status_code == 404  # type: ignore[attr-defined]
    assert _post(client, "/support/contacts/EAST/east-bob", token, status="INACTIVE").status_code == 403  # type: ignore[attr-defined]


def test_registration_pages(client: TestClient, world: SupportWorld) -> None:
    form = client.get("/support/register?token=reg-WEST")
    assert form.status_code == 200
    assert 'id="institution"' not in form.text  # the link names the institution
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    data = {
        "csrf_token": token[1],
        "registration_token": "reg-WEST",
        "email": "pat@anywhere.example",
        "first_name": "Pat",
        "last_name": "Doe",
        "password": "long enough secret",
    }
    sent = client.post("/support/register", data=data, follow_redirects=False)
    assert sent.status_code == 303
    assert client.get(sent.headers["location"]).status_code == 200
    outbox = client.get("/api/v1/mail/outbox?to=pat@anywhere.example", headers=world.key(world.operator)).json()
    code = re.search(r"Confirmation code: (\S+)", outbox["message"][0]["body"])
    assert code is not None
    page = client.get(f"/support/confirm/{code[1]}")
    confirm_token = CSRF_FIELD.search(page.text)
    assert confirm_token is not None
    confirmed = client.post(
        f"/support/confirm/{code[1]}", data={"csrf_token": confirm_token[1]}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"].startswith("/login")
    bad = client.post("/support/register", data={**data, "email": "x", "csrf_token": token[1]})
    assert bad.status_code == 403  # the form token was used up by the cookie rotation
    fresh = CSRF_FIELD.search(client.get("/support/register").text)
    assert fresh is not None
    bad = client.post(
        "/support/register",
        data={
            **data,
            "registration_token": "",
            "institution": "EAST",
            "email": "pat@anywhere.example",
            "csrf_token": fresh[1],
        },
    )
    assert bad.status_code == 400
    assert "email domains" in bad.text
    assert world.factory.session.scalars(select(SupportCase)).all() == []
