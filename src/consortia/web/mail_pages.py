"""The operator's mail outbox pages: every message the platform sent or kept (newest first, paged,
optionally for one address) and one message with its body. The same outbox as `GET /api/v1/mail/outbox`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import decide
from consortia.config import get_settings
from consortia.errors import Forbidden, NotFound
from consortia.http.deps import DbSession, page_declares
from consortia.mail import MailMessage, outbox, outbox_message
from consortia.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25


def _demand_outbox(identity: Identity) -> None:
    decision = decide(identity, P.MAIL_OUTBOX_READ)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def mail_status(message: MailMessage) -> str:
    """Sent, Failed (the mail server refused it) or Pending (kept in the outbox, not sent yet or at all)."""
    if message.sent_at is not None:
        return "Sent"
    if message.error:
        return "Failed"
    return "Pending"


@router.get("/operator/mail", response_class=HTMLResponse)
def mail_list(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.MAIL_OUTBOX_READ))],
    to: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    _demand_outbox(identity)
    rows, total = outbox(session, to=to or None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def page_link(number: int) -> str:
        query = {"to": to} if to else {}
        return "/operator/mail?" + urlencode({**query, "page": str(number)})

    context: dict[str, Any] = {
        "messages": [(m, mail_status(m)) for m in rows],
        "total": total,
        "to": to,
        "page": page,
        "pages": pages,
        "previous_link": page_link(page - 1) if page > 1 else None,
        "next_link": page_link(page + 1) if page < pages else None,
        "smtp": bool(get_settings().smtp_url),
    }
    return render(request, "mail/outbox.html", context)


@router.get("/operator/mail/{message_id}", response_class=HTMLResponse)
def mail_message(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.MAIL_OUTBOX_READ))],
    message_id: Annotated[int, Path(ge=1, le=2_000_000_000)],
) -> Response:
    _demand_outbox(identity)
    message = outbox_message(session, message_id)
    if message is None:
        raise NotFound(f"Message {message_id} was not found.")
    return render(request, "mail/message.html", {"message": message, "status": mail_status(message)})
