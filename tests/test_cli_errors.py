"""The `consortia` command fails loudly: every error ends the command with a message on standard error
and exit code 1 (wrong usage: 2), never a "not found" printed with exit code 0, never a traceback for
an error the command foresees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortia.cli import app as cli
from consortia.db import set_database


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("CONSORTIA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    yield CliRunner()
    set_database(None)


@pytest.fixture
def initialised(runner: CliRunner, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(cli, ["init", "--db", url, "--operator-key", "cli-test-operator-key-0123456789"])
    assert result.exit_code == 0, result.output
    return url


def test_jobs_show_of_an_unknown_instance_fails(runner: CliRunner, initialised: str) -> None:
    result = runner.invoke(cli, ["jobs", "show", "999", "--db", initialised])
    assert result.exit_code == 1
    assert "Job instance 999 was not found." in result.stderr
    assert result.stdout == ""
    listed = runner.invoke(cli, ["jobs", "list", "--db", initialised])  # the same database is fine
    assert listed.exit_code == 0, listed.output
    assert listed.stderr == ""


def test_a_database_without_the_schema_is_named_and_fails(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(cli, ["jobs", "list", "--db", url])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "cannot be used" in result.stderr
    assert "consortia init" in result.stderr
    assert "Traceback" not in result.output


def test_a_database_that_cannot_be_opened_fails(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    result = runner.invoke(cli, ["jobs", "show", "1", "--db", url])
    assert result.exit_code == 1
    assert f"The database at {url} cannot be used" in result.stderr


def test_a_password_in_the_database_url_is_not_printed(runner: CliRunner) -> None:
    url = "postgresql://consortia:s3cret-db-password@127.0.0.1:9/consortia"  # nothing listens on port 9
    result = runner.invoke(cli, ["jobs", "list", "--db", url])
    assert result.exit_code == 1
    assert "cannot be used" in result.stderr
    assert "s3cret-db-password" not in result.output


def test_a_domain_error_of_a_command_fails(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["generate", "--size", "Q", "--db", f"sqlite:///{tmp_path / 'gen.db'}"])
    assert result.exit_code == 1
    assert "Unknown size Q" in result.stderr
    assert runner.invoke(cli, ["jobs", "show", "not-a-number"]).exit_code == 2  # wrong usage stays click's 2


def test_a_worker_without_a_queue_fails_on_stderr(
    runner: CliRunner, initialised: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSORTIA_QUEUE_URL", "memory://")
    result = runner.invoke(cli, ["worker", "--db", initialised])
    assert result.exit_code == 1
    assert "CONSORTIA_QUEUE_URL is memory://" in result.stderr
