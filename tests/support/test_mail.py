"""The outbox keeps every message; with `smtp_url` set, messages are sent after the commit, never before
and never for a rolled-back change."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia import mail
from consortia.config import get_settings
from consortia.db import Database
from consortia.mail import MailMessage, send_mail


class FakeSMTP:
    sent: list[Any] = []

    def __init__(self, host: str, port: int, timeout: int) -> None:
        self.host, self.port = host, port

    def __enter__(self) -> FakeSMTP:
        return self

    def __exit__(self, *_args: object) -> None:
        return None

    def login(self, user: str, password: str) -> None:
        self.credentials = (user, password)

    def send_message(self, message: Any) -> None:
        FakeSMTP.sent.append((self.host, self.port, message))


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSMTP]:
    settings = dataclasses.replace(get_settings(), smtp_url="smtp://mailer:secret@mail.example:2525")
    monkeypatch.setattr(mail, "get_settings", lambda: settings)
    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    return FakeSMTP


@pytest.fixture
def own_database(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'mail.db'}")
    MailMessage.__table__.create(database.engine)  # type: ignore[attr-defined]
    return database


def test_sent_after_commit_and_marked_sent(smtp: type[FakeSMTP], own_database: Database) -> None:
    with own_database.session() as session:
        send_mail(session, "jane@example.edu", "Hello", "Body text")
        assert smtp.sent == []  # nothing leaves before the commit
    assert len(smtp.sent) == 1
    host, port, message = smtp.sent[0]
    assert (host, port) == ("mail.example", 2525)
    assert message["To"] == "jane@example.edu"
    assert message["Subject"] == "Hello"
    with own_database.session() as session:
        row = session.scalars(select(MailMessage)).one()
        assert row.sent_at is not None
        assert row.error is None


def test_not_sent_when_rolled_back(smtp: type[FakeSMTP], own_database: Database) -> None:
    session = own_database.sessionmaker()
    send_mail(session, "jane@example.edu", "Hello", "Body text")
    session.rollback()
    session.close()
    assert smtp.sent == []
    with own_database.session() as fresh:
        assert fresh.scalars(select(MailMessage)).all() == []


def test_a_failing_server_is_recorded(monkeypatch: pytest.MonkeyPatch, own_database: Database) -> None:
    settings = dataclasses.replace(get_settings(), smtp_url="smtp://mail.example:2525")
    monkeypatch.setattr(mail, "get_settings", lambda: settings)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(mail.smtplib, "SMTP", refuse)
    with own_database.session() as session:
        send_mail(session, "jane@example.edu", "Hello", "Body text")
    with own_database.session() as session:
        row = session.scalars(select(MailMessage)).one()
        assert row.sent_at is None
        assert row.error is not None
        assert "refused" in row.error


def test_without_smtp_only_the_outbox(db: Session) -> None:
    message = send_mail(db, "bob@example.edu", "Subject", "Body")
    assert message.id is not None
    assert message.sent_at is None
