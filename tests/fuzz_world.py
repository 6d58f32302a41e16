"""The small world the API fuzzer acts in, and the words it aims with (tests/test_fuzz_api.py; no tests here).

Two consortia, three institutions and one person of each kind the fuzzer acts as:

    NLC (Northern Libraries Consortium): EAST (libraries EAST_L1, EAST_L2), WEST (WEST_L1, WEST_L2)
    SLC (Southern Libraries Consortium): SOUTH (SOUTH_L1, SOUTH_L2)
    fulfillment network NLC_FN: EAST and WEST

    operator      fuzz-op, acting in EAST through ?institution=EAST
    gsa           east-gsa, General System Administrator of EAST
    user_admin    east-ua, User Administrator of EAST
    staff         east-staff, staff of EAST without roles
    patron        east-pat, patron of EAST (role Patron)
    eio           east-eio, Electronic Inventory Operator for EAST_L1 and Extended for EAST_L2 (scope switch on)
    anonymous     no key at all

and, as things to aim at: west-ua and west-pat (WEST), south-gsa and south-pat (SOUTH), one finished
job instance of EAST and one of SOUTH (M1001, with an event each), a Support Center case of EAST and one of
SOUTH (east-gsa and south-gsa are STANDARD Support Center users, east-ua and east-staff BASIC), and the
list views the Support Center answers; electronic inventory in EAST and SOUTH (a collection of EAST_L1 with a
service and a portfolio, a standalone portfolio, their records, an item of each task list, a PO line ordering the
portfolios, a licence covering the collection) and a Community Zone collection; in EAST and
SOUTH an itemized set of those portfolios and a Repository import profile (part of the collection, library
from 910 $a, a default library), and in EAST a finished Change Electronic Portfolio Information (M2101) and
Repository Import (M2102).

Random text almost never names a thing that exists, so the fuzzer draws path values from `vocabulary(...)`
most of the time and query and body values half of the time: the world's codes and ids, ids of other
tenants (R-3), unknown ids, and values at the edges of what the types and the databases allow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.permissions import Permission
from consortia.audit.registry import history_kinds
from consortia.db import utcnow
from consortia.eresources.import_models import (
    PART_OF_COLLECTION,
    REPOSITORY,
    ImportProfile,
    PortfolioSet,
    PortfolioSetMember,
)
from consortia.eresources.marc import minimal_marcxml
from consortia.eresources.models import (
    BibRecord,
    CzCollection,
    CzPortfolio,
    ElectronicCollection,
    ElectronicService,
    Portfolio,
)
from consortia.eresources.policy import ACTIVATION_TASK_ACTIONS
from consortia.eresources.task_models import (
    ACTIVATION,
    CREATED_LOCALLY,
    CZ_UPDATES,
    PORTFOLIO_UPDATED,
    STATUSES,
    EresourceTask,
    License,
    PoLine,
    PoLineItem,
)
from consortia.jobs.models import COMPLETED_SUCCESS, JobEvent, JobInstance
from consortia.jobs.registry import job_kinds
from consortia.platform.codetables import TABLES
from consortia.platform.models import ApiKey, Institution, InstitutionParameter
from consortia.platform.parameters import DEFINITIONS
from tests.factories import Factory

KINDS = ("operator", "gsa", "user_admin", "staff", "patron", "eio", "anonymous")

INSTITUTIONS = ("EAST", "WEST", "SOUTH")
CONSORTIA = ("NLC", "SLC")
NETWORKS = ("NLC_FN",)
LIBRARIES = tuple(f"{code}_L{n}" for code in INSTITUTIONS for n in (1, 2))
PEOPLE = ("fuzz-op", "east-gsa", "east-ua", "east-staff", "east-pat", "west-ua", "west-pat", "south-gsa", "south-pat")
IDENTIFIERS = ("B-100", "U-100", "W-100")
# Text the databases cannot store alike (NUL, other control characters), and text they must store as given.
NASTY_TEXTS = ("A\x00B", "bell\x07", "tab\tand\nbreak", "\u202eright-to-left", "\U0001f600")
# Text no database can store: only a JSON escape carries it (tests/fuzz_bodies.py sends it; schemathesis's
# own dictionaries cannot hold it).
LONE_SURROGATE = "\ud800"
DATES = ("2030-01-31", "2030-01-31Z", "1900-01-01", "9999-12-31", "0001-01-01", "2030-02-30", "31/01/2030")


@dataclass(frozen=True)
class Actor:
    """Who a request is sent as: the key header and the extra query parameters (the operator's institution)."""

    kind: str
    primary_id: str | None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FuzzWorld:
    """The actors by kind (KINDS) and the ids of the world's things that have no code."""

    actors: dict[str, Actor]
    key_ids: tuple[int, ...]
    instance_ids: tuple[int, ...]
    case_numbers: tuple[str, ...] = ()
    view_ids: tuple[str, ...] = ()
    # collections, services, portfolios, mms_ids, sets, profiles, cz: EAST's first, then SOUTH's
    electronic: dict[str, tuple[str, ...]] = field(default_factory=dict)


def build_fuzz_world(factory: Factory, client: TestClient) -> FuzzWorld:
    """Create the world in the test's session and commit it (a savepoint of the test's transaction, so a
    request that fails and rolls back keeps it); the Support Center cases are opened through `client`."""
    session = factory.session
    north = factory.consortium("NLC", "Northern Libraries Consortium")
    south_consortium = factory.consortium("SLC", "Southern Libraries Consortium")
    east = factory.institution("EAST", north, name="Eastern State University", domains=("east.example.edu",))
    west = factory.institution("WEST", north, name="Western University")
    south = factory.institution("SOUTH", south_consortium, name="Southern College")
    factory.network(east, west, code="NLC_FN")
    people = {
        "operator": factory.operator("fuzz-op"),
        "gsa": factory.user(
            east,
            "east-gsa",
            roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,),
            support_level="STANDARD",
            email="gsa@east.example.edu",
        ),
        "user_admin": factory.user(east, "east-ua", roles=(R.USER_ADMINISTRATOR,), support_level="BASIC"),
        "staff": factory.user(east, "east-staff", support_level="BASIC"),
        "patron": factory.user(
            east,
            "east-pat",
            roles=(R.PATRON,),
            record_type="PUBLIC",
            user_group="UNDERGRAD",
            identifiers=(("BARCODE", "B-100"), ("UNIV_ID", "U-100")),
        ),
    }
    east_l1, east_l2 = east.libraries[0], east.libraries[1]
    people["eio"] = factory.user(
        east,
        "east-eio",
        roles=((R.ELECTRONIC_INVENTORY_OPERATOR, east_l1), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, east_l2)),
    )
    session.add(
        InstitutionParameter(institution_id=east.id, name="temp_user_scope_limits_electronic_resources", value=True)
    )
    factory.user(west, "west-ua", roles=(R.USER_ADMINISTRATOR,))
    factory.user(west, "west-pat", record_type="PUBLIC", user_group="UNDERGRAD", identifiers=(("BARCODE", "W-100"),))
    south_gsa = factory.user(south, "south-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,), support_level="STANDARD")
    factory.user(south, "south-pat", record_type="PUBLIC", user_group="UNDERGRAD")
    actors = {
        kind: Actor(kind, user.primary_id, factory.key(user), {"institution": "EAST"} if user.is_operator else {})
        for kind, user in people.items()
    }
    actors["anonymous"] = Actor("anonymous", None)
    south_actor = Actor("south", south_gsa.primary_id, factory.key(south_gsa))
    instances = []
    runs = ((east, people["gsa"], "M1001"), (south, south_gsa, "M1001"), (east, people["gsa"], "M2101"))
    for institution, submitter, job_code in (*runs, (east, people["gsa"], "M2102")):
        now = utcnow()
        instance = JobInstance(
            job_code=job_code,
            institution_id=institution.id,
            submitted_by_id=submitter.id,
            submitted_by=submitter.primary_id,
            status=COMPLETED_SUCCESS,
            progress=100,
            parameters={},
            counters={},
            report="",
            submit_time=now,
            start_time=now,
            end_time=now,
        )
        session.add(instance)
        session.flush()
        session.add(JobEvent(job_instance_id=instance.id, type="INFO", description="Done.", record=None, at=now))
        instances.append(instance.id)
    key_ids = tuple(session.scalars(select(ApiKey.id).order_by(ApiKey.id)))
    electronic = _inventory(session, east, south)
    session.commit()
    cases = tuple(_open_case(client, actor) for actor in (actors["gsa"], south_actor))
    views = client.get("/api/v1/support/list-views", headers=actors["gsa"].headers)
    assert views.status_code == 200, views.text
    view_ids = tuple(str(view["id"]) for view in views.json().get("list_view", []))
    return FuzzWorld(actors, key_ids, tuple(instances), cases, view_ids, electronic)


def _inventory(session: Session, east: Institution, south: Institution) -> dict[str, tuple[str, ...]]:
    """A collection of the first library with a service and a portfolio, and a standalone portfolio, in EAST
    and in SOUTH; a Community Zone collection."""
    found: dict[str, list[str]] = {
        "collections": [],
        "services": [],
        "portfolios": [],
        "mms_ids": [],
        "cz": [],
        "tasks": [],
        "po_lines": [],
        "po_line_items": [],
        "licenses": [],
        "sets": [],
        "profiles": [],
    }
    for institution in (east, south):
        record = BibRecord(institution_id=institution.id, title="Fuzz Journal", marcxml=minimal_marcxml("Fuzz Journal"))
        collection = ElectronicCollection(
            institution_id=institution.id, public_name="Fuzz Package", library_id=institution.libraries[0].id
        )
        session.add_all([record, collection])
        session.flush()
        service = ElectronicService(institution_id=institution.id, collection_id=collection.id)
        session.add(service)
        session.flush()
        inside = Portfolio(
            institution_id=institution.id,
            bib_id=record.id,
            collection_id=collection.id,
            service_id=service.id,
            title="Fuzz",
        )
        alone = Portfolio(
            institution_id=institution.id, bib_id=record.id, library_id=institution.libraries[1].id, title="Fuzz"
        )
        session.add_all([inside, alone])
        session.flush()
        found["collections"].append(str(collection.id))
        found["services"].append(str(service.id))
        found["portfolios"] += [str(inside.id), str(alone.id)]
        found["mms_ids"].append(str(record.id))
        # ER-14, ER-15: an item of each task list (the CZ update names the portfolio, the activation the collection)
        cz_item = EresourceTask(
            institution_id=institution.id, task_list=CZ_UPDATES, report_type=PORTFOLIO_UPDATED, portfolio_id=alone.id
        )
        activation_item = EresourceTask(
            institution_id=institution.id,
            task_list=ACTIVATION,
            report_type=CREATED_LOCALLY,
            collection_id=collection.id,
        )
        session.add_all([cz_item, activation_item])
        session.flush()
        found["tasks"] += [str(cz_item.id), str(activation_item.id)]
        # ER-18, ER-19: a PO line ordering both portfolios, and a licence covering the collection
        line = PoLine(institution_id=institution.id, number=f"POL-{institution.code}")
        line.items = [
            PoLineItem(institution_id=institution.id, portfolio_id=inside.id),
            PoLineItem(institution_id=institution.id, portfolio_id=alone.id),
        ]
        session.add_all([line, License(institution_id=institution.id, code=f"LIC-{institution.code}", name="Fuzz")])
        collection.license = f"LIC-{institution.code}"
        session.flush()
        found["po_lines"].append(str(line.id))
        found["po_line_items"] += [str(item.id) for item in line.items]
        found["licenses"].append(f"LIC-{institution.code}")
        portfolio_set = PortfolioSet(institution_id=institution.id, name="Fuzz set", created_by="fuzz")
        profile = ImportProfile(
            institution_id=institution.id,
            name="Fuzz profile",
            type=REPOSITORY,
            portfolio_type=PART_OF_COLLECTION,
            collection_id=collection.id,
            service_id=service.id,
            library_tag="910",
            library_subfield="a",
            default_library_id=institution.libraries[1].id,
        )
        session.add_all([portfolio_set, profile])
        session.flush()
        session.add_all([PortfolioSetMember(set_id=portfolio_set.id, portfolio_id=p.id) for p in (inside, alone)])
        found["sets"].append(str(portfolio_set.id))
        found["profiles"].append(str(profile.id))
    cz = CzCollection(public_name="Fuzz CZ", portfolios=[CzPortfolio(title="Fuzz CZ title")])
    session.add(cz)
    session.flush()
    found["cz"] += [str(cz.id), str(cz.portfolios[0].id)]
    return {key: tuple(values) for key, values in found.items()}


def _open_case(client: TestClient, actor: Actor) -> str:
    """A Support Center case opened through the API (API.md "Support center"), as `actor`."""
    answer = client.post(
        "/api/v1/support/cases",
        headers=actor.headers,
        json={"subject": "Cannot renew", "description": "Renewals fail.", "issue_type": "Technical"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["number"])


def vocabulary(world: FuzzWorld) -> dict[str, list[str | int]]:
    """Named lists of values worth sending: what exists (here and in other tenants), what does not, and edges."""
    unknown_code = "NOWHERE"
    codes: list[str | int] = [*INSTITUTIONS, *CONSORTIA, *NETWORKS, unknown_code, "east", "X" * 40, "EAST\x00"]
    return {
        "codes": codes,
        "texts": ["BARCODE", "", *NASTY_TEXTS],
        "new_codes": ["NEW1", "EAST", "NLC", "NLC_FN", "new-code", "N" * 100, ""],
        "institutions": [*INSTITUTIONS, unknown_code, "east"],
        "consortia": [*CONSORTIA, unknown_code],
        "libraries": [*LIBRARIES, "NOLIB", "east_l1"],
        "people": [*PEOPLE, *IDENTIFIERS, "nobody", "EAST-PAT", "east-pat\x00"],
        "new_people": ["new-person", *PEOPLE, "p" * 100],
        "names": ["A new name", "  ", "Ünïcödé Library", *NASTY_TEXTS],
        "domains": ["new.example.edu", "east.example.edu", "not a domain", "EXAMPLE.ORG"],
        "table_names": [*TABLES, "NoSuchTable", "usergroups"],
        "parameter_names": [*DEFINITIONS, "no_such_parameter"],
        "job_ids": [kind.job_id for kind in job_kinds()] + ["M9999", "m1001", "X1"],
        "instance_ids": [*world.instance_ids, 2147483647],
        "case_numbers": [*world.case_numbers, "99999999", "0", "1"],
        "view_ids": [*world.view_ids, "999999", "0"],
        "key_ids": [*world.key_ids, 2147483647],
        "history_kinds": [*history_kinds(), "nothing"],
        "history_ids": [*PEOPLE, *INSTITUTIONS, *CONSORTIA, *DEFINITIONS, "1"],
        "permissions": [p.value for p in Permission] + ["no:such"],
        "objects": [
            *(f"institution:{code}" for code in INSTITUTIONS),
            *(f"library:{code}" for code in LIBRARIES[:3]),
            *(f"user:{primary_id}" for primary_id in PEOPLE[:6]),
            "consortium:NLC",
            "user:",
            ":",
            "nothing:1",
        ],
        "queries": [
            "primary_id~east",
            "last_name~User AND first_name~Test",
            "ALL~b-100",
            "user_group~UNDERGRAD",
            "first_name~",
            "nonsense",
            "last_name~_ AND AND",
        ],
        "user_groups": ["UNDERGRAD", "STAFF", "WALKIN", "NOGROUP", "", *NASTY_TEXTS],
        "record_types": ["STAFF", "PUBLIC", "OTHER"],
        "statuses": ["ACTIVE", "INACTIVE", "DELETED"],
        "support_levels": ["NONE", "BASIC", "STANDARD", "CONSORTIA", "GOLD"],
        "role_types": [*R.ROLE_TYPES, "NO_SUCH_ROLE"],
        "scopes": ["EAST", "EAST_L1", "WEST_L1", "NOLIB"],
        "id_types": ["BARCODE", "UNIV_ID", "NOTYPE"],
        "user_id_types": ["all_unique", "primary_id", "linking_id", "BARCODE", "UNIV_ID", "NOTYPE"],
        "emails": ["new@east.example.edu", "mary@east.example.edu", "not-an-email", "a@b"],
        "dates": list(DATES),
        "job_parameters": [
            "user_group",
            "set_id",
            "library",
            "collection_id",
            "profile_id",
            "file_id",
            "source_institution",
            "nothing",
        ],
        "job_parameter_values": [
            "UNDERGRAD",
            *world.electronic.get("sets", ()),
            *world.electronic.get("profiles", ()),
            *LIBRARIES,
            "999999",
            "",
            *NASTY_TEXTS,
        ],
        "set_ids": [*world.electronic.get("sets", ()), "999999", "0", "2147483648", "abc"],
        "profile_ids": [*world.electronic.get("profiles", ()), "999999", "0", "2147483648", "abc"],
        "profile_types": ["REPOSITORY", "INVENTORY_UPDATE", "NEW_ORDER", "NOTYPE", ""],
        "portfolio_types": ["STANDALONE", "PART_OF_ELECTRONIC_COLLECTION", "NOTYPE", ""],
        "marc_tags": ["910", "245", "001", "99", "ABC", ""],
        "marc_subfields": ["a", "9", "", "ab"],
        "collection_ids": [*world.electronic.get("collections", ()), "999999", "0", "abc"],
        "service_ids": [*world.electronic.get("services", ()), "999999"],
        "portfolio_ids": [*world.electronic.get("portfolios", ()), "999999", "2147483648"],
        "mms_ids": [*world.electronic.get("mms_ids", ()), "999999"],
        "cz_ids": [*world.electronic.get("cz", ()), "999999"],
        "task_ids": [*world.electronic.get("tasks", ()), "999999", "0"],
        "po_line_ids": [*world.electronic.get("po_lines", ()), "999999", "0"],
        "po_line_item_ids": [*world.electronic.get("po_line_items", ()), "999999"],
        "license_codes": [*world.electronic.get("licenses", ()), "lic-east", "NOLIC"],
        "task_actions": [*ACTIVATION_TASK_ACTIONS, "dismiss", "nothing"],
        "task_statuses": [*STATUSES, "nothing"],
        "rule_ids": ["default", "order", "1", "2", "999999", "x"],
        "frequencies": ["NONE", "DAILY", "WEEKLY", "MONTHLY", "daily", "HOURLY", ""],
        "weekdays": ["MONDAY", "SUNDAY", "friday", "FUNDAY", ""],
        "times": ["02:00", "00:00", "23:59", "2:05", "24:00", "12:60", "noon", ""],
    }


@contextmanager
def rolled_back(db: Session) -> Iterator[None]:
    """Run one request inside a savepoint of the test's connection and undo whatever it wrote."""
    connection = db.get_bind()
    assert isinstance(connection, Connection)
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()
        db.expunge_all()
