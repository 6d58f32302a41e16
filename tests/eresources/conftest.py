"""Electronic resources test set-up: an institution with three libraries and the switch on or off, a user
for each electronic role at institution and library scope, and inventory written straight to the database."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.db import utcnow
from consortia.eresources.marc import minimal_marcxml
from consortia.eresources.models import BibRecord, ElectronicCollection, ElectronicService, Portfolio
from consortia.platform.models import Institution, InstitutionParameter, Library, User
from tests.factories import Factory

SWITCH = "temp_user_scope_limits_electronic_resources"


def set_switch(session: Session, institution: Institution, on: bool) -> None:
    row = session.get(InstitutionParameter, (institution.id, SWITCH))
    if row is None:
        session.add(InstitutionParameter(institution_id=institution.id, name=SWITCH, value=on))
    else:
        row.value = on
    session.flush()


def bib(session: Session, institution: Institution, title: str = "Journal of Tests") -> BibRecord:
    now = utcnow()
    row = BibRecord(
        institution_id=institution.id, title=title, marcxml=minimal_marcxml(title), created_at=now, updated_at=now
    )
    session.add(row)
    session.flush()
    return row


def collection(
    session: Session, institution: Institution, library: Library | None = None, name: str = "Aggregator"
) -> tuple[ElectronicCollection, ElectronicService]:
    row = ElectronicCollection(
        institution_id=institution.id, public_name=name, library_id=library.id if library else None
    )
    session.add(row)
    session.flush()
    service = ElectronicService(institution_id=institution.id, collection_id=row.id)
    session.add(service)
    session.flush()
    session.refresh(row)
    return row, service


def portfolio(
    session: Session,
    institution: Institution,
    *,
    library: Library | None = None,
    service: ElectronicService | None = None,
    record: BibRecord | None = None,
    title: str = "A portfolio",
) -> Portfolio:
    record = record or bib(session, institution, title)
    row = Portfolio(
        institution_id=institution.id,
        bib_id=record.id,
        collection_id=service.collection_id if service else None,
        service_id=service.id if service else None,
        library_id=library.id if library else None,
        title=record.title,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return row


@dataclass
class World:
    factory: Factory
    east: Institution
    west: Institution
    main: Library
    law: Library
    sci: Library
    west_lib: Library
    users: dict[str, User] = field(default_factory=dict)

    def key(self, name: str) -> dict[str, str]:
        headers = self.factory.key(self.users[name])
        self.factory.session.commit()
        return headers


# name: roles (role type, library attribute of World or None for institution level)
PEOPLE: dict[str, tuple[tuple[str, str | None], ...]] = {
    "eio": ((R.ELECTRONIC_INVENTORY_OPERATOR, None),),
    "eio_law": ((R.ELECTRONIC_INVENTORY_OPERATOR, "law"),),
    "ext": ((R.ELECTRONIC_INVENTORY_OPERATOR, None), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, None)),
    "ext_law": ((R.ELECTRONIC_INVENTORY_OPERATOR, "law"), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "law")),
    "ext_sci": ((R.ELECTRONIC_INVENTORY_OPERATOR, "law"), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "sci")),
    "limited_law": ((R.ELECTRONIC_INVENTORY_OPERATOR_LIMITED, "law"),),
    "cdi": ((R.CDI_INVENTORY_OPERATOR, None),),
    "cdi_sci": ((R.CDI_INVENTORY_OPERATOR, "sci"),),
    "po": ((R.PURCHASING_OPERATOR, None),),
    "po_main": ((R.PURCHASING_OPERATOR, "main"),),
    "eio_law_po_main": ((R.ELECTRONIC_INVENTORY_OPERATOR, "law"), (R.PURCHASING_OPERATOR, "main")),
    "desk": ((R.CIRCULATION_DESK_OPERATOR, None),),
    "patron": ((R.PATRON, None),),
    "repo": ((R.REPOSITORY_MANAGER, None),),
}


def build_world(factory: Factory, *, switch: bool = True) -> World:
    east = factory.institution("EAST", libraries=0, name="Eastern State University")
    west = factory.institution("WEST", libraries=0, name="Western Tech")
    libs = {}
    for suffix, name in (("MAIN", "Main Library"), ("LAW", "Law Library"), ("SCI", "Science Library")):
        row = Library(institution_id=east.id, code=f"EAST_{suffix}", name=name)
        factory.session.add(row)
        libs[suffix.lower()] = row
    west_lib = Library(institution_id=west.id, code="WEST_MAIN", name="West Main")
    factory.session.add(west_lib)
    factory.session.flush()
    world = World(factory, east, west, libs["main"], libs["law"], libs["sci"], west_lib)
    set_switch(factory.session, east, switch)
    set_switch(factory.session, west, switch)
    for name, roles in PEOPLE.items():
        world.users[name] = factory.user(
            east,
            f"east-{name}",
            roles=tuple((role, getattr(world, lib) if lib else None) for role, lib in roles),
            record_type="PUBLIC" if name == "patron" else "STAFF",
        )
    world.users["west_eio"] = factory.user(west, "west-eio", roles=(R.ELECTRONIC_INVENTORY_OPERATOR,))
    world.users["operator"] = factory.operator("eres-operator")
    factory.session.commit()
    return world


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)
