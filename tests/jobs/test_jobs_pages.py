"""Monitor Jobs pages: the list with its status filter, an instance's page, the run form (P-7, I-2)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from consortia.jobs.models import RUNNING, JobInstance
from consortia.platform.models import User
from tests.factories import Factory
from tests.jobs.conftest import World, expired_patrons
from tests.web.test_sign_in import sign_in


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def _run_from_the_form(client: TestClient, **parameters: str) -> str:
    page = client.get("/jobs")
    assert page.status_code == 200
    data = {"csrf_token": _csrf(page.text), "job_id": "M1001", **{f"param_{k}": v for k, v in parameters.items()}}
    response = client.post("/jobs/run", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_run_a_job_and_read_its_page(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    patrons = expired_patrons(factory, world.east, 2, user_group="UNDERGRAD")
    expired_patrons(factory, world.east, 1, user_group="WALKIN")
    db.commit()
    assert sign_in(client, world.east_admin.primary_id) == 303

    listing = client.get("/jobs")
    assert listing.status_code == 200
    assert "Run a job" in listing.text
    assert "Deactivate Expired Users" in listing.text
    assert '<label for="M1001-user_group">User group</label>' in listing.text
    assert '<option value="UNDERGRAD">Undergraduate (UNDERGRAD)</option>' in listing.text
    assert "No job instances" in listing.text

    location = _run_from_the_form(client, user_group="UNDERGRAD")
    instance_id = int(location.split("?")[0].rsplit("/", 1)[1])
    page = client.get(location)
    assert page.status_code == 200
    assert f"Job no. {instance_id} submitted." in page.text
    assert "Completed Successfully" in page.text
    assert 'value="100"' in page.text  # the progress bar
    assert "Users deactivated" in page.text
    assert "each has one history row naming this job" in page.text  # the counter's explanation
    assert "Users deactivated: 2" in page.text  # the report
    assert "User group: UNDERGRAD" in page.text
    assert "hx-trigger" not in page.text  # finished: nothing left to refresh
    db.expire_all()
    assert {db.get(User, p.id).status for p in patrons} == {"INACTIVE"}  # type: ignore[union-attr]

    listed = client.get("/jobs")
    assert f'href="/jobs/{instance_id}"' in listed.text
    assert "hx-trigger" not in listed.text
    assert f'href="/jobs/{instance_id}"' in client.get("/jobs?status=COMPLETED_SUCCESS").text
    assert f'href="/jobs/{instance_id}"' not in client.get("/jobs?status=FAILED").text
    assert client.get("/jobs?status=<script>").status_code == 400


def test_running_instances_refresh_themselves(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    db.commit()
    assert sign_in(client, world.east_admin.primary_id) == 303
    instance_id = int(_run_from_the_form(client).split("?")[0].rsplit("/", 1)[1])
    db.execute(update(JobInstance).where(JobInstance.id == instance_id).values(status=RUNNING, progress=40))
    db.commit()
    page = client.get(f"/jobs/{instance_id}")
    assert f'hx-get="/jobs/{instance_id}/status"' in page.text
    assert "Running" in page.text
    partial = client.get(f"/jobs/{instance_id}/status")
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith("{#") or partial.text.lstrip().startswith("<section")
    assert "<html" not in partial.text
    assert 'value="40"' in partial.text
    listing = client.get("/jobs")
    assert 'hx-get="/jobs?fragment=table' in listing.text
    table = client.get("/jobs?fragment=table")
    assert "<html" not in table.text
    assert f'href="/jobs/{instance_id}"' in table.text


def test_who_sees_what(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    db.commit()
    assert sign_in(client, world.east_admin.primary_id) == 303
    instance_id = int(_run_from_the_form(client).split("?")[0].rsplit("/", 1)[1])
    client.cookies.clear()

    # Another institution's instance is not found; staff without the permission see no run form.
    assert sign_in(client, world.west_admin.primary_id) == 303
    assert client.get(f"/jobs/{instance_id}").status_code == 404
    assert client.get(f"/jobs/{instance_id}/status").status_code == 404
    assert f'href="/jobs/{instance_id}"' not in client.get("/jobs").text
    client.cookies.clear()

    assert sign_in(client, world.east_desk.primary_id) == 303
    page = client.get("/jobs")
    assert page.status_code == 200
    assert f'href="/jobs/{instance_id}"' in page.text
    # The desk may run the network's Refresh Linked Accounts, not Deactivate Expired Users.
    assert "Run Refresh Linked Accounts" in page.text
    assert "Run Deactivate Expired Users" not in page.text
    refused = client.post("/jobs/run", data={"csrf_token": _csrf(page.text), "job_id": "M1001"})
    assert refused.status_code == 403
    assert "User Administrator" in refused.text
    assert client.post("/jobs/run", data={"job_id": "M1001"}).status_code == 403  # no CSRF token
    client.cookies.clear()

    assert sign_in(client, world.east_patron.primary_id) == 303
    assert client.get("/jobs").status_code == 403
    assert client.get(f"/jobs/{instance_id}").status_code == 404
    assert 'href="/jobs"' not in client.get("/").text  # no Monitor Jobs in the navigation
    client.cookies.clear()

    # The operator sees every instance; runs institution jobs after choosing the institution.
    assert sign_in(client, world.operator.primary_id) == 303
    page = client.get("/jobs")
    assert f'href="/jobs/{instance_id}"' in page.text
    assert "Choose the institution to work in" in page.text
    assert client.get(f"/jobs/{instance_id}").status_code == 200
    home = client.get("/")
    client.post("/operator/acting-institution", data={"csrf_token": _csrf(home.text), "institution": world.west.code})
    assert "Deactivate Expired Users" in client.get("/jobs").text
    assert _run_from_the_form(client).startswith("/jobs/")


def test_bad_run_requests_show_the_form_again(client: TestClient, db: Session, factory: Factory, world: World) -> None:
    db.commit()
    assert sign_in(client, world.east_admin.primary_id) == 303
    token = _csrf(client.get("/jobs").text)
    unknown = client.post("/jobs/run", data={"csrf_token": token, "job_id": "M999999"})
    assert unknown.status_code == 400
    assert "Job ID is not valid" in unknown.text
    assert "Run a job" in unknown.text
    bad = client.post("/jobs/run", data={"csrf_token": token, "job_id": "M1001", "param_user_group": "NOPE"})
    assert bad.status_code == 400
    assert "not a user group" in bad.text
    assert client.get("/jobs/not-a-number").status_code == 400
