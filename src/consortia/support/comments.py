"""Comments and attachments of a case (SC-4): appends, each with its history row (field `comment` with the
comment's first `HISTORY_TEXT_CHARS` characters, field `attachment` with the file name).

A comment or an attachment conflicts with no other and with no edit of the case: it moves the case's
`updated` without going through the version-checked update of the case (R-4). Who may add one is who
manages the case (`case:comment`); partners read them only.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.db import utcnow
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.support.models import CLOSED, CaseAttachment, CaseComment, SupportCase
from consortia.support.service import access_case, case_history_row, demand_manager

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# A comment's history row keeps its beginning; the comment itself is read from the case.
HISTORY_TEXT_CHARS = 200


def _touch(session: Session, case: SupportCase, now: dt.datetime) -> None:
    """Move the case's `updated` to `now` (never back) without touching its version.

    A comment or an attachment is an append: it conflicts with no other and with no edit of the case,
    so it must not go through the version-checked UPDATE of the case (R-4: only a change made against a
    version may answer 409), nor move the version an edit in progress was made against.
    """
    session.execute(
        update(SupportCase)
        .where(SupportCase.id == case.id, SupportCase.updated_at < now)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if case.updated_at < now:
        set_committed_value(case, "updated_at", now)


def add_comment(session: Session, identity: Identity, case: SupportCase, text: str) -> CaseComment:
    demand_manager(identity, P.CASE_COMMENT, case)
    if case.status == CLOSED:
        raise Conflict(f"Case {case.number} is closed; open a new case to continue.")
    text = text.strip()
    if not text:
        raise BadRequest("A comment needs some text.")
    now = utcnow()
    comment = CaseComment(
        case_id=case.id, author_id=identity.user_id, author=identity.actor.label, text=text, created_at=now
    )
    session.add(comment)
    session.flush()  # the case is touched at the comment's own instant, as stored
    _touch(session, case, comment.created_at)
    case_history_row(session, identity, case, "comment", None, text[:HISTORY_TEXT_CHARS])
    session.flush()
    return comment


def comments_of(session: Session, case: SupportCase, *, limit: int, offset: int) -> tuple[list[CaseComment], int]:
    """A case's comments, oldest first (the caller has accessed the case)."""
    total = int(session.scalar(select(func.count()).where(CaseComment.case_id == case.id)) or 0)
    rows = session.scalars(
        select(CaseComment).where(CaseComment.case_id == case.id).order_by(CaseComment.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


# Control and format characters (C0, DEL, C1, bidirectional overrides, line separators, surrogates)
# make a name that misleads or cannot be stored or sent; path separators make one that names a folder.
_NOT_IN_FILE_NAMES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def clean_file_name(name: str) -> str:
    """The name an attachment is kept under: at most 255 characters, every control, format or path
    separator character replaced by `_`, "attachment" for a name that is empty or blank."""
    kept = "".join("_" if c in "\\/" or unicodedata.category(c) in _NOT_IN_FILE_NAMES else c for c in name.strip())
    return kept[:255].strip() or "attachment"


def add_attachment(
    session: Session, identity: Identity, case: SupportCase, *, name: str, content_type: str, content: bytes
) -> CaseAttachment:
    demand_manager(identity, P.CASE_COMMENT, case)
    if case.status == CLOSED:
        raise Conflict(f"Case {case.number} is closed; open a new case to continue.")
    if not content:
        raise BadRequest("The attachment is empty.")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise BadRequest(f"An attachment may have at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.")
    clean_name = clean_file_name(name)
    now = utcnow()
    attachment = CaseAttachment(
        case_id=case.id,
        name=clean_name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=len(content),
        content=content,
        author_id=identity.user_id,
        author=identity.actor.label,
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    _touch(session, case, attachment.created_at)
    case_history_row(session, identity, case, "attachment", None, clean_name)
    session.flush()
    return attachment


def attachments_of(session: Session, case: SupportCase) -> Sequence[CaseAttachment]:
    return session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == case.id).order_by(CaseAttachment.id)
    ).all()


def attachment_of(session: Session, case: SupportCase, attachment_id: int) -> CaseAttachment:
    attachment = session.get(CaseAttachment, attachment_id)
    if attachment is None or attachment.case_id != case.id:
        raise NotFound(f"Attachment {attachment_id} was not found.")
    return attachment


def access_attachment(session: Session, identity: Identity, number: str, attachment_id: int) -> CaseAttachment:
    """An attachment of a case the caller may see (the API's download and the case page's): 404 for an unknown
    case, a case the caller may not see, and an attachment of another case alike."""
    return attachment_of(session, access_case(session, identity, number), attachment_id)
