"""The redaction filter on what the server's own code logs: the parameters of a failed SQL statement
(in the message and in the traceback), credentials in a mapping written out, and a request line of
uvicorn's access log, whose arguments keep their types. (tests/test_cli_serve_logs.py reads the log
of a real server.)"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from consortia.logs import RedactSecrets, log_config

SECRET = "s3cret-value-4f2a9e"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of the application with a handler configured like the server's (the filter on the handler)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    assert log_config()["handlers"]["app"]["filters"] == ["redact"]
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("consortia.test_log_redaction")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)


def test_the_parameters_of_a_failed_statement_are_not_logged(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    engine = create_engine("sqlite://")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (token_hash TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
    except IntegrityError as exc:
        logger.info("IntegrityError on POST /x: %s", exc)
        logger.exception("unexpected error on POST /x")
    engine.dispose()
    output = stream.getvalue()
    assert "UNIQUE constraint failed" in output
    assert "Traceback" in output
    assert "[parameters: [redacted]]" in output
    assert SECRET not in output


def test_credentials_in_a_mapping_and_an_access_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("headers: %s", {"authorization": f"apikey {SECRET}", "accept": "application/json"})
    logger.info("body: %r", {"password": SECRET, "username": "ada"})
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/almaws/v1/users?apikey={SECRET}", "1.1", 200)
    output = stream.getvalue()
    assert SECRET not in output
    assert "'accept': 'application/json'" in output
    assert "'username': 'ada'" in output
    assert '"GET /almaws/v1/users?apikey=[redacted] HTTP/1.1" 200' in output
