"""Choosing the institution to work in (the start page) is the operator's: `institution:manage` decides it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.almaws.test_users_world import UsersWorld, build_users_world
from tests.factories import Factory
from tests.platform.test_user_pages import csrf_of, sign_in


@pytest.fixture
def world(factory: Factory) -> UsersWorld:
    return build_users_world(factory)


@pytest.mark.parametrize("institution", ["WEST", "EAST", ""])
def test_only_the_operator_works_in_another_institution(
    client: TestClient, world: UsersWorld, institution: str
) -> None:
    sign_in(client, "east-gsa")
    home = client.get("/")
    assert "/operator/acting-institution" not in home.text  # no chooser offered
    response = client.post(
        "/operator/acting-institution", data={"csrf_token": csrf_of(home.text), "institution": institution}
    )
    assert response.status_code == 403
    assert "Only the operator manages institutions." in response.text
