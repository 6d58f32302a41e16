"""Outgoing mail: every message is kept in the outbox table; with `smtp_url` set it is also sent.

`send_mail` adds the message in the caller's transaction, so a message about a change that is
rolled back is never kept nor sent. Sending by SMTP happens only after the transaction commits,
outside it: a slow or failing mail server never holds a transaction open nor undoes a change.
The outcome is written back to the message (`sent_at`, or `error`).

`smtp_url` looks like `smtp://user:password@host:25` (`smtps://` for TLS from the start,
`smtp+starttls://` to upgrade a plain connection).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import DateTime, Integer, String, Text, event, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from consortia.config import get_settings
from consortia.db import Base, utcnow

log = logging.getLogger("consortia.mail")

_PENDING = "consortia.mail.pending"


class MailMessage(Base):
    """A message in the outbox (kept whether or not it was sent by SMTP)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class _Outgoing:
    message_id: int
    to: str
    subject: str
    body: str


def send_mail(session: Session, to: str, subject: str, body: str) -> MailMessage:
    """Put a message in the outbox; when SMTP is configured, send it once the transaction commits."""
    message = MailMessage(to_address=to.strip(), subject=subject[:300], body=body, created_at=utcnow())
    session.add(message)
    session.flush()
    if get_settings().smtp_url:
        pending: list[_Outgoing] = session.info.setdefault(_PENDING, [])
        if not pending:
            event.listen(session, "after_commit", _send_pending, once=True)
            event.listen(session, "after_rollback", _forget_pending, once=True)
        pending.append(_Outgoing(message.id, message.to_address, message.subject, message.body))
    return message


def outbox(session: Session, *, to: str | None, limit: int, offset: int) -> tuple[list[MailMessage], int]:
    """Messages of the outbox, newest first, optionally only those to one address."""
    query = select(MailMessage)
    if to:
        query = query.where(func.lower(MailMessage.to_address) == to.strip().lower())
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = session.scalars(query.order_by(MailMessage.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def outbox_message(session: Session, message_id: int) -> MailMessage | None:
    """One message of the outbox (the caller has checked that it may read the outbox)."""
    return session.get(MailMessage, message_id)


def _forget_pending(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)
    if event.contains(session, "after_commit", _send_pending):
        event.remove(session, "after_commit", _send_pending)


def _send_pending(session: Session) -> None:
    pending: list[_Outgoing] = session.info.pop(_PENDING, [])
    if event.contains(session, "after_rollback", _forget_pending):
        event.remove(session, "after_rollback", _forget_pending)
    url = get_settings().smtp_url
    if not pending or not url:
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    for outgoing in pending:
        error: str | None = None
        try:
            deliver(url, get_settings().mail_from, outgoing.to, outgoing.subject, outgoing.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail to %s not sent: %s", outgoing.to, exc)
            error = str(exc)[:1000]
        with engine.begin() as connection:
            connection.execute(
                update(MailMessage)
                .where(MailMessage.id == outgoing.message_id)
                .values(sent_at=None if error else utcnow(), error=error)
            )


def deliver(url: str, sender: str, to: str, subject: str, body: str) -> None:
    """Send one message through the SMTP server named by `url`."""
    parts = urlsplit(url)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=30)
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=30)
    with client:
        if parts.scheme == "smtp+starttls":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
