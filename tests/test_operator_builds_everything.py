"""Issue acceptance: an operator key from `consortia init --operator-key K` builds a consortium,
institutions, libraries, a fulfillment network, users with roles and their API keys through the API alone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from consortia.app import create_app
from consortia.cli import app as cli
from consortia.config import load_settings
from consortia.db import set_database

KEY = "operator-key-for-the-acceptance-test-0123456789"


def test_operator_key_builds_a_consortium_through_the_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(cli, ["init", "--db", url, "--operator-key", KEY])
    assert result.exit_code == 0, result.output
    assert "Schema is up to date" in result.output
    again = CliRunner().invoke(cli, ["init", "--db", url, "--operator-key", KEY])
    assert again.exit_code == 0, again.output  # init is idempotent (upgrade)

    settings = load_settings(
        database_url=url, var_dir=tmp_path, secret_key="s", queue_url="memory://", run_embedded_worker=False
    )
    operator = {"Authorization": f"apikey {KEY}"}
    with TestClient(create_app(settings, start_worker=False)) as api:

        def ok(response, status: int = 200):  # type: ignore[no-untyped-def]
            assert response.status_code == status, response.text
            return response.json()

        ok(
            api.post(
                "/api/v1/consortia", json={"code": "NLC", "name": "Northern Libraries Consortium"}, headers=operator
            ),
            201,
        )
        for code, name in (("EAST", "Eastern State University"), ("WEST", "Western Tech")):
            ok(
                api.post(
                    "/api/v1/institutions",
                    headers=operator,
                    json={
                        "code": code,
                        "name": name,
                        "consortium": "NLC",
                        "email_domains": [f"{code.lower()}.example.edu"],
                    },
                ),
                201,
            )
            for lib, lib_name in (("MAIN", "Main Library"), ("LAW", "Law Library")):
                ok(
                    api.post(
                        f"/api/v1/institutions/{code}/libraries",
                        headers=operator,
                        json={"code": f"{code}_{lib}", "name": lib_name},
                    ),
                    201,
                )
            ok(
                api.put(
                    f"/almaws/v1/conf/code-tables/UserGroups?institution={code}",
                    headers=operator,
                    json={
                        "name": "UserGroups",
                        "row": [{"code": "STAFF", "description": "Staff", "default": True, "enabled": True}],
                    },
                )
            )
        network = ok(
            api.post(
                "/api/v1/fulfillment-networks",
                headers=operator,
                json={"code": "NLC_FN", "name": "NLC network", "members": ["EAST", "WEST"]},
            ),
            201,
        )
        assert network["code"] == "NLC_FN"
        ok(
            api.put(
                "/api/v1/institutions/EAST/parameters/temp_user_scope_limits_electronic_resources",
                headers=operator,
                json={"value": True},
            )
        )

        ok(
            api.post(
                "/almaws/v1/users?institution=EAST",
                headers=operator,
                json={
                    "primary_id": "east-admin",
                    "record_type": {"value": "STAFF"},
                    "first_name": "Erin",
                    "last_name": "Admin",
                    "user_group": {"value": "STAFF"},
                    "password": "a long enough password",
                    "user_role": [
                        {
                            "role_type": {"value": "GENERAL_SYSTEM_ADMINISTRATOR"},
                            "scope": {"value": "EAST"},
                            "status": {"value": "ACTIVE"},
                        }
                    ],
                },
            )
        )
        ok(
            api.post(
                "/almaws/v1/users?institution=EAST",
                headers=operator,
                json={
                    "primary_id": "east-eio",
                    "record_type": {"value": "STAFF"},
                    "first_name": "Eli",
                    "last_name": "Inventory",
                    "user_group": {"value": "STAFF"},
                    "user_role": [
                        {
                            "role_type": {"value": "ELECTRONIC_INVENTORY_OPERATOR"},
                            "scope": {"value": "EAST_LAW"},
                            "status": {"value": "ACTIVE"},
                        },
                        {
                            "role_type": {"value": "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED"},
                            "scope": {"value": "EAST_MAIN"},
                            "status": {"value": "ACTIVE"},
                        },
                    ],
                },
            )
        )
        # ER-4 holds on this path too: institution-level EIO forbids a library-scoped Extended role.
        refused = api.post(
            "/almaws/v1/users?institution=EAST",
            headers=operator,
            json={
                "primary_id": "east-bad",
                "record_type": {"value": "STAFF"},
                "last_name": "Bad",
                "user_group": {"value": "STAFF"},
                "user_role": [
                    {"role_type": {"value": "ELECTRONIC_INVENTORY_OPERATOR"}, "scope": {"value": "EAST"}},
                    {"role_type": {"value": "ELECTRONIC_INVENTORY_OPERATOR_EXTENDED"}, "scope": {"value": "EAST_LAW"}},
                ],
            },
        )
        assert refused.status_code == 400, refused.text

        created = ok(api.post("/api/v1/users/east-admin/api-keys?institution=EAST", headers=operator, json={}), 201)
        admin = {"Authorization": f"apikey {created['key']}"}
        me = ok(api.get("/almaws/v1/users/east-admin", headers=admin))
        assert [r["role_type"]["value"] for r in me["user_role"]] == ["GENERAL_SYSTEM_ADMINISTRATOR"]
        # The new administrator works in EAST only: WEST's things are unknown to them.
        assert api.get("/api/v1/institutions/WEST", headers=admin).status_code == 404
        eio = ok(api.get("/almaws/v1/users/east-eio", headers=admin))
        assert {(r["role_type"]["value"], r["scope"]["value"]) for r in eio["user_role"]} == {
            ("ELECTRONIC_INVENTORY_OPERATOR", "EAST_LAW"),
            ("ELECTRONIC_INVENTORY_OPERATOR_EXTENDED", "EAST_MAIN"),
        }
        history = ok(api.get("/api/v1/history?entity=user&id=east-eio", headers=admin))
        assert any(event["field"] == "role" for event in history["event"])
    set_database(None)
