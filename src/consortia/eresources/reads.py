"""Reading one portfolio for an answer with a pre-built Core statement: the hot path of
`GET /almaws/v1/bibs/{mms_id}/portfolios/{portfolio_id}` (N-6).

One round trip: the portfolio row with its own library and its electronic collection's library.
`access_bib_portfolio_record` is `service.access_bib` followed by `service.access_portfolio` for a read:
the same rules and the same 404s (an unknown or invisible record: 402203; a portfolio that is not the
record's: 60123).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.access.policy import authorize
from consortia.eresources.models import ElectronicCollection, Portfolio
from consortia.eresources.schemas import PortfolioRecord
from consortia.eresources.service import (
    access_bib,
    bib_not_found,
    in_acting_institution,
    portfolio_not_found,
    resource_id,
)
from consortia.platform.models import Library


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


_PORTFOLIOS = _table(Portfolio)
_COLLECTIONS = _table(ElectronicCollection)
_OWN_LIBRARY = _table(Library).alias("own_library")
_COLLECTION_LIBRARY = _table(Library).alias("collection_library")

# The record's fields that are columns of the portfolio row (the rest are its libraries').
ROW_FIELDS = (
    "id",
    "institution_id",
    "bib_id",
    "collection_id",
    "service_id",
    "title",
    "issn",
    "isbn",
    "availability",
    "coverage",
    "is_local",
    "cz_portfolio_id",
    "po_line",
    "license",
    "activation_date",
    "version",
)

_PORTFOLIO_ROW = (
    select(
        *(_PORTFOLIOS.c[name] for name in ROW_FIELDS),
        _OWN_LIBRARY.c.code.label("library_code"),
        _OWN_LIBRARY.c.name.label("library_name"),
        _COLLECTION_LIBRARY.c.code.label("collection_library_code"),
        _COLLECTION_LIBRARY.c.name.label("collection_library_name"),
    )
    .outerjoin(_OWN_LIBRARY, _OWN_LIBRARY.c.id == _PORTFOLIOS.c.library_id)
    .outerjoin(_COLLECTIONS, _COLLECTIONS.c.id == _PORTFOLIOS.c.collection_id)
    .outerjoin(_COLLECTION_LIBRARY, _COLLECTION_LIBRARY.c.id == _COLLECTIONS.c.library_id)
    .where(_PORTFOLIOS.c.id == bindparam("portfolio_id"))
)


def portfolio_row(session: Session, portfolio_id: int) -> PortfolioRecord | None:
    """The portfolio as a record, whoever may see it (None when there is no such portfolio)."""
    row = session.execute(_PORTFOLIO_ROW, {"portfolio_id": portfolio_id}).first()
    return None if row is None else PortfolioRecord(**row._mapping)


def access_bib_portfolio_record(
    session: Session, identity: Identity, mms_id: str, portfolio_id: str
) -> PortfolioRecord:
    """The portfolio `portfolio_id` of the record `mms_id`, checked for `eresource:read`, as a record.

    A record and its portfolios are of one institution, so the portfolio's visibility is the record's: a
    portfolio of that record which the caller may not see answers as the record would (402203). When the
    portfolio is not the record's, the record itself is looked at, so that each case answers as the
    two-step look-up does."""
    bib_id, number = resource_id(mms_id), resource_id(portfolio_id)
    record = portfolio_row(session, number) if number is not None and bib_id is not None else None
    if record is None or record.bib_id != bib_id:
        access_bib(session, identity, mms_id)
        raise portfolio_not_found(portfolio_id)
    if not in_acting_institution(identity, record.institution_id):
        raise bib_not_found(mms_id)
    authorize(identity, P.ERESOURCE_READ, record, not_found=bib_not_found(mms_id))
    return record
