"""The Support Center's part of the demo (`consortia demo`): cases, comments, sharing, licences and a
pending case-sharing request, registered in `DEMO_EXTENSIONS`.

Everything is made through the Support Center's own verbs, acting as the demo people, so the
history of every case, licence and share is the history those verbs write:

- NLC (case sharing enabled): EAST, WEST and NORTH have cases of every status and priority, most
  of them shared with the consortium, some kept with the institution, and one (with an attachment)
  shared by mistake and set back to "My Institution": its history shows both changes. The
  operator's support staff comment on cases and move them through the workflow; the openers close
  what is solved. More cases are shared than one page of the partner list holds.
- SCC (case sharing disabled): SOUTH has cases of its own only, and the open Access case of
  south-standard asking the operator to enable case sharing for SCC (SC-10), left for the operator
  to resolve from the case.
- The Consortia licences of east-consortia and west-consortia, granted by the operator (so the
  licence list and the access review show them), and a view of a partner's case by each of them.

The timeline is the moment the demo is built: the verbs stamp the current time, as they would.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, identity_of
from consortia.demo import DEMO_EXTENSIONS, DemoContext
from consortia.platform.models import User
from consortia.platform.setup import OPERATOR_ID
from consortia.support import enablement, licences, service
from consortia.support.demo_cases import (
    ATTACH,
    COMMENT,
    DEMO_FILES,
    LICENSED,
    OPERATOR,
    PARTNER_VIEWS,
    SHARE,
    SHARING_REQUEST,
    STATUS,
    demo_cases,
)
from consortia.support.models import SupportCase
from consortia.support.schemas import CaseCreate, ContactRef

# --- building ------------------------------------------------------------------------------------


def build_support_demo(session: Session, context: DemoContext) -> None:
    """Add the Support Center's demo data once: nothing when EAST already has cases."""
    east = context.institutions["EAST"]
    if session.scalar(select(SupportCase.id).where(SupportCase.institution_id == east.id).limit(1)) is not None:
        return
    people = _identities(session, context)
    operator = people[OPERATOR]
    institutions = {institution.id: institution for institution in context.institutions.values()}
    for primary_id in LICENSED:
        user = context.user(primary_id)
        if user.institution_id is not None and licences.active_licence(session, user) is None:
            licences.grant_licence(session, operator, user, institutions[user.institution_id])
    opened: dict[str, SupportCase] = {}
    for story in demo_cases():
        case = service.create_case(
            session,
            people[story.opener],
            CaseCreate.model_validate(
                {
                    "subject": story.subject,
                    "description": story.description,
                    "issue_type": story.issue_type,
                    "product": story.product,
                    "priority": story.priority,
                    "share_with": story.share_with,
                }
            ),
        )
        for who, action, value in story.steps:
            _act(session, people[who], case, action, value)
        opened[story.subject] = case
    for viewer, subject in PARTNER_VIEWS:
        service.note_partner_view(session, people[viewer], opened[subject])
    requester, consortium, contacts = SHARING_REQUEST
    enablement.create_sharing_request(
        session,
        people[requester],
        consortium,
        [ContactRef(institution=code, primary_id=primary_id) for code, primary_id in contacts],
    )
    session.flush()


def _act(session: Session, identity: Identity, case: SupportCase, action: str, value: str) -> None:
    if action == COMMENT:
        service.add_comment(session, identity, case, value)
    elif action == STATUS:
        service.update_case(session, identity, case, status=value)
    elif action == SHARE:
        service.set_share_with(session, identity, case, value)
    elif action == ATTACH:
        content_type, text = DEMO_FILES[value]
        service.add_attachment(session, identity, case, name=value, content_type=content_type, content=text.encode())
    else:
        raise ValueError(f"Unknown demo step {action!r} on case {case.number}.")


def _identities(session: Session, context: DemoContext) -> dict[str, Identity]:
    """The identities the demo acts as: every Support Center contact of the demo, and the operator."""
    people = {
        primary_id: identity_of(user)
        for primary_id, user in context.users.items()
        if user.record_type == "STAFF" and user.support_level != "NONE"
    }
    people[OPERATOR] = identity_of(_operator(session, context))
    return people


def _operator(session: Session, context: DemoContext) -> User:
    """The operator account; `consortia demo` creates it before the demo, a bare build gets it here."""
    operator = session.scalars(
        select(User).where(User.is_operator.is_(True), User.primary_id_key == OPERATOR_ID)
    ).first()
    if operator is None:
        operator = User(
            institution_id=None,
            is_operator=True,
            primary_id=OPERATOR_ID,
            primary_id_key=OPERATOR_ID,
            record_type="STAFF",
            first_name="Operator",
            last_name="Support",
            support_level="NONE",
            password_hash=context.password_hash,
        )
        session.add(operator)
        session.flush()
    return operator


DEMO_EXTENSIONS.append(build_support_demo)
