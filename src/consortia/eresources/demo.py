"""Electronic resources in the demo (`consortia demo`), handed over in its `Domain` (`build_eresources_demo`).

- EAST has `temp_user_scope_limits_electronic_resources` switched on (by the operator, with history);
  WEST keeps it off, so the same roles act on every resource there (ER-2).
- Besides the platform's electronic staff (east-eio at institution level, east-eio-law with EIO for
  LAW and Extended for SCI, east-cdi for SCI, east-purchasing for MAIN), EAST has one user for each
  remaining role and scope: east-eio-ext (EIO + Extended, institution), east-eio-main (EIO, MAIN),
  east-limited (Limited, LAW), east-cdi-inst (CDI, institution), east-po-inst (Purchasing Operator,
  institution).
- Collections with and without a library (Law Journals Package: EAST_LAW; Science Select: EAST_SCI;
  Open Access Aggregator: none, its portfolios with libraries of their own), standalone portfolios, and
  in WEST one collection; a small Community Zone catalogue to activate from.
- For the Change Electronic Portfolio Information job (ER-21) and imports (ER-22), made by east-repo
  (Repository Manager; the profile into the Law Journals Package by east-eio-law, in whose scope it
  is): the set "Demo portfolios" (portfolios of the Law Journals Package, of the Open Access Aggregator
  and standalone ones, so that every counter of the job can be seen); Repository import profiles of
  each portfolio type, both taking the library from 910 $a with a Default library (standalone:
  EAST_MAIN; part of the Law Journals Package: EAST_LAW); an Inventory Update profile.

- Task lists, a PO line and a licence with items in and out of east-eio-law's scope (ER-14, ER-15, ER-18,
  ER-19), see `_tasks_and_acquisitions`.

Everything is made through the domain's verbs as those people, so history is what the verbs write.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import Identity, identity_of
from consortia.access.roles import RoleSpec, role_set_problems
from consortia.eresources import acquisitions as acq
from consortia.eresources import cz, import_profiles, service, sets, task_items
from consortia.eresources.import_models import INVENTORY_UPDATE, PART_OF_COLLECTION, REPOSITORY
from consortia.eresources.import_models import STANDALONE as STANDALONE_PORTFOLIO
from consortia.eresources.marc import minimal_marcxml, parse_marcxml
from consortia.eresources.models import CzCollection, ElectronicCollection, ElectronicService, Portfolio
from consortia.eresources.policy import SWITCH
from consortia.eresources.schemas import CzCollectionIn, CzPortfolioIn
from consortia.eresources.task_models import COLLECTION_UPDATED, PORTFOLIO_UPDATED
from consortia.platform.demo import DemoContext
from consortia.platform.models import Institution, User, UserRole
from consortia.platform.parameters import set_parameter
from consortia.platform.setup import OPERATOR_ID

# primary id suffix, first name, last name, roles (role type, library suffix or None)
EXTRA_STAFF: tuple[tuple[str, str, str, tuple[tuple[str, str | None], ...]], ...] = (
    (
        "eio-ext",
        "Ezra",
        "Extended",
        ((R.ELECTRONIC_INVENTORY_OPERATOR, None), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, None)),
    ),
    ("eio-main", "Mina", "Mainwaring", ((R.ELECTRONIC_INVENTORY_OPERATOR, "MAIN"),)),
    ("limited", "Lior", "Limited", ((R.ELECTRONIC_INVENTORY_OPERATOR_LIMITED, "LAW"),)),
    ("cdi-inst", "Cleo", "Indexer", ((R.CDI_INVENTORY_OPERATOR, None),)),
    ("po-inst", "Piet", "Procurement", ((R.PURCHASING_OPERATOR, None),)),
)

# collection name, library suffix or None, portfolios: (title, ISSN, own library suffix or None)
COLLECTIONS: tuple[tuple[str, str | None, tuple[tuple[str, str, str | None], ...]], ...] = (
    (
        "Law Journals Package",
        "LAW",
        (
            ("Harvard Law Review", "0017-811X", None),
            ("Yale Law Journal", "0044-0094", None),
            ("Journal of Legal Studies", "0047-2530", None),
        ),
    ),
    (
        "Science Select",
        "SCI",
        (("Journal of Chemical Physics", "0021-9606", None), ("Physical Review Letters", "0031-9007", None)),
    ),
    (
        "Open Access Aggregator",
        None,
        (
            ("Open Law Quarterly", "1111-0001", "LAW"),
            ("Open Science Letters", "1111-0002", "SCI"),
            ("Open Humanities", "1111-0003", "MAIN"),
            ("Open Everything", "1111-0004", None),
        ),
    ),
)
STANDALONE = (("Local Law Digest", "LAW"), ("Main Library Newsletter", "MAIN"), ("Institution-wide Bulletin", None))
CZ_CATALOGUE = (
    ("CZ Directory of Open Access Journals", ("Open Journal of Ecology", "Open Journal of Statistics")),
    ("CZ Public Domain Books", ("Pride and Prejudice", "Moby-Dick", "Middlemarch")),
)


def _add_staff(session: Session, context: DemoContext, institution: Institution) -> None:
    code = institution.code
    libraries = {lib.code: lib for lib in context.libraries.values() if lib.institution_id == institution.id}
    for suffix, first, last, roles in EXTRA_STAFF:
        specs = [RoleSpec(role, f"{code}_{lib}" if lib else None) for role, lib in roles]
        problems = role_set_problems(specs, set(libraries))
        if problems:
            raise ValueError(f"Demo user {code.lower()}-{suffix} breaks the role rules: {problems}")
        primary_id = f"{code.lower()}-{suffix}"
        user = User(
            institution_id=institution.id,
            primary_id=primary_id,
            primary_id_key=primary_id,
            record_type="STAFF",
            user_group="STAFF",
            first_name=first,
            last_name=last,
            email=f"{primary_id}@{code.lower()}.example.edu",
            password_hash=context.password_hash,
        )
        session.add(user)
        session.flush()
        for spec in specs:
            library = libraries[spec.library_code] if spec.library_code else None
            session.add(UserRole(user_id=user.id, role_type=spec.role_type, library_id=library.id if library else None))
        context.users[primary_id] = user
    session.flush()


def _bib(session: Session, identity: Identity, institution: Institution, title: str, issn: str) -> object:
    return service.create_bib(session, identity, institution, parse_marcxml(minimal_marcxml(title, issn=issn)))


def _inventory(session: Session, identity: Identity, institution: Institution) -> None:
    code = institution.code
    for name, library, portfolios in COLLECTIONS:
        collection = service.create_collection(
            session,
            identity,
            institution,
            service.CollectionChange(
                public_name=name,
                type="1" if library is None else "0",
                library=f"{code}_{library}" if library else None,
                interface_name=name.split()[0],
                vendor="Demo Publisher",
            ),
        )
        svc = service.create_service(
            session, identity, collection, type=None, public_description="Full text", activation_status=None
        )
        for title, issn, own in portfolios:
            bib = _bib(session, identity, institution, title, issn)
            service.create_portfolio(
                session,
                identity,
                institution,
                bib,  # type: ignore[arg-type]
                service.PortfolioChange(
                    library=f"{code}_{own}" if own else None,
                    collection_id=str(collection.id),
                    service_id=str(svc.id),
                    coverage="2000 - present",
                ),
            )
    for title, own in STANDALONE:
        bib = _bib(session, identity, institution, title, "")
        service.create_portfolio(
            session,
            identity,
            institution,
            bib,  # type: ignore[arg-type]
            service.PortfolioChange(library=f"{code}_{own}" if own else None, coverage="1990 - present"),
        )


def _sets_and_profiles(session: Session, identity: Identity, law_editor: Identity, institution: Institution) -> None:
    """The demo set and import profiles: by `identity` (a Repository Manager), except the profile into the
    Law Journals Package, whose collection must be in the scope of whoever makes it (ER-22): `law_editor`."""
    code = institution.code
    collections = {
        c.public_name: c
        for c in session.scalars(
            select(ElectronicCollection).where(ElectronicCollection.institution_id == institution.id)
        )
    }
    law, aggregator = collections["Law Journals Package"], collections["Open Access Aggregator"]
    members = session.scalars(
        select(Portfolio.id)
        .where(
            Portfolio.institution_id == institution.id,
            (Portfolio.collection_id.in_([law.id, aggregator.id])) | Portfolio.collection_id.is_(None),
        )
        .order_by(Portfolio.id)
    ).all()
    sets.create_set(
        session,
        identity,
        institution,
        name="Demo portfolios",
        description="Portfolios of the Law Journals Package and the Open Access Aggregator, and standalone ones: "
        "run Change Electronic Portfolio Information on it to see each counter.",
        member_ids=list(members),
    )
    law_service = session.scalar(select(ElectronicService.id).where(ElectronicService.collection_id == law.id))
    for change in (
        import_profiles.ProfileChange(
            name="Repository: standalone portfolios",
            description="Library from 910 $a; a value naming no library gives EAST_MAIN.",
            type=REPOSITORY,
            portfolio_type=STANDALONE_PORTFOLIO,
            library_tag="910",
            library_subfield="a",
            default_library=f"{code}_MAIN",
        ),
        import_profiles.ProfileChange(
            name="Repository: Law Journals Package",
            description="Portfolios of the Law Journals Package (library EAST_LAW): a record naming another "
            "library in 910 $a is skipped and counted as a library conflict.",
            type=REPOSITORY,
            portfolio_type=PART_OF_COLLECTION,
            collection_id=str(law.id),
            service_id=str(law_service) if law_service else None,
            library_tag="910",
            library_subfield="a",
            default_library=f"{code}_LAW",
        ),
        import_profiles.ProfileChange(
            name="Inventory Update: vendor records",
            description="Inventory Update profiles take no portfolio library.",
            type=INVENTORY_UPDATE,
        ),
    ):
        maker = law_editor if change.collection_id else identity
        import_profiles.create_profile(session, maker, institution, change)


def build_eresources_demo(session: Session, context: DemoContext) -> None:
    """Add the electronic resources demo once: nothing when EAST already has collections."""
    east = context.institutions["EAST"]
    west = context.institutions["WEST"]
    if session.scalar(select(ElectronicCollection.id).where(ElectronicCollection.institution_id == east.id).limit(1)):
        return
    operator = identity_of(_operator(session, context))
    set_parameter(session, operator, east, SWITCH, True)
    if not session.scalars(select(CzCollection.id).limit(1)).first():
        for name, titles in CZ_CATALOGUE:
            cz.create_cz_collection(
                session,
                operator,
                CzCollectionIn(public_name=name, portfolios=[CzPortfolioIn(title=t) for t in titles]),
            )
    _add_staff(session, context, east)
    _inventory(session, identity_of(context.user("east-eio")), east)
    _tasks_and_acquisitions(session, operator, identity_of(context.user("east-eio")), east)
    _sets_and_profiles(session, identity_of(context.user("east-repo")), identity_of(context.user("east-eio-law")), east)
    west_eio = identity_of(context.user("west-eio"))
    west_collection = service.create_collection(
        session, west_eio, west, service.CollectionChange(public_name="West Engineering Package", library="WEST_SCI")
    )
    service.create_service(session, west_eio, west_collection, type=None, public_description="", activation_status=None)
    session.flush()


def _portfolio(session: Session, institution: Institution, title: str) -> Portfolio:
    found = session.scalars(
        select(Portfolio).where(Portfolio.institution_id == institution.id, Portfolio.title == title)
    ).first()
    assert found is not None, title
    return found


def _collection(session: Session, institution: Institution, name: str) -> ElectronicCollection:
    found = session.scalars(
        select(ElectronicCollection).where(
            ElectronicCollection.institution_id == institution.id, ElectronicCollection.public_name == name
        )
    ).first()
    assert found is not None, name
    return found


def _tasks_and_acquisitions(session: Session, operator: Identity, eio: Identity, east: Institution) -> None:
    """ER-14, ER-15, ER-18, ER-19 in the demo. The CZ Updates Task List: EAST activates "CZ Public Domain
    Books" and the operator then changes one of its portfolios (an item at institution level, out of
    east-eio-law's scope), plus items for portfolios of LAW (in scope), SCI and institution level. The
    Activation Task List holds everything the demo created. A PO line orders items in and out of LAW; the
    licence DEMO-LIC covers resources of LAW, SCI and institution level."""
    books = session.scalars(select(CzCollection).where(CzCollection.public_name == "CZ Public Domain Books")).first()
    if books is not None:
        cz.activate_collection(session, eio, east, books)
        cz.update_cz_portfolio(session, operator, books.portfolios[0], {"coverage": "1813 - present"})
    law = _portfolio(session, east, "Harvard Law Review")
    sci = _portfolio(session, east, "Journal of Chemical Physics")
    everyone = _portfolio(session, east, "Open Everything")
    task_items.add_cz_update_items(session, PORTFOLIO_UPDATED, [law, sci, everyone], operator.actor)
    task_items.add_cz_update_items(
        session, COLLECTION_UPDATED, [_collection(session, east, "Law Journals Package")], operator.actor
    )
    own_law = _portfolio(session, east, "Local Law Digest")
    acq.create_po_line(
        session,
        eio,
        east,
        number="POL-2026-0001",
        vendor="Demo Publisher",
        description="Electronic journals for the law and science libraries",
        resources=[law, own_law, sci, _collection(session, east, "Science Select"), everyone],
    )
    acq.create_license(session, eio, east, "DEMO-LIC", "Demo Publisher licence")
    for resource in (_collection(session, east, "Law Journals Package"), sci, everyone, own_law):
        resource.license = "DEMO-LIC"
    session.flush()


def _operator(session: Session, context: DemoContext) -> User:
    """The operator account, who turns the switch on and keeps the Community Zone: `consortia demo` creates
    it before the demo; a bare build (whatever order the domains' extensions run in) gets it here."""
    found = session.scalars(select(User).where(User.is_operator.is_(True), User.primary_id_key == OPERATOR_ID)).first()
    if found is not None:
        return found
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
