"""The demo consortia that `consortia demo` builds once: the platform's data, then each domain's on top.

What the demo is made of and its sign-ins are the platform's (`platform.demo`); the Support Center,
collaborative networks and electronic resources add theirs through their `Domain.demo`, in the order
`consortia.domains` lists them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from consortia.domain import Domain
from consortia.domains import DOMAINS
from consortia.platform.auth import hash_password
from consortia.platform.demo import DEMO_PASSWORD, DemoContext, SignIn, demo_built, sign_ins


def build_demo(session: Session, domains: Sequence[Domain] = DOMAINS) -> list[SignIn]:
    """Create the demo data once and return the sign-ins; when it already exists, create nothing.

    The caller commits.
    """
    if demo_built(session):
        return sign_ins()
    context = DemoContext(password_hash=hash_password(DEMO_PASSWORD))
    for domain in domains:
        if domain.demo is not None:
            domain.demo(session, context)
            session.flush()
    return sign_ins()
