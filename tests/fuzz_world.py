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
    anonymous     no key at all

and, as things to aim at: west-ua and west-pat (WEST), south-gsa and south-pat (SOUTH), one finished
job instance of EAST and one of SOUTH (M1001, with an event each), a Support Center case of EAST and one of
SOUTH (east-gsa and south-gsa are STANDARD Support Center users, east-ua and east-staff BASIC), and the
list views the Support Center answers.

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
from consortia.jobs.models import COMPLETED_SUCCESS, JobEvent, JobInstance
from consortia.jobs.registry import job_kinds
from consortia.platform.codetables import TABLES
from consortia.platform.models import ApiKey
from consortia.platform.parameters import DEFINITIONS
from tests.factories import Factory

KINDS = ("operator", "gsa", "user_admin", "staff", "patron", "anonymous")

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
    for institution, submitter in ((east, people["gsa"]), (south, south_gsa)):
        now = utcnow()
        instance = JobInstance(
            job_code="M1001",
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
    session.commit()
    cases = tuple(_open_case(client, actor) for actor in (actors["gsa"], south_actor))
    views = client.get("/api/v1/support/list-views", headers=actors["gsa"].headers)
    assert views.status_code == 200, views.text
    view_ids = tuple(str(view["id"]) for view in views.json().get("list_view", []))
    return FuzzWorld(actors, key_ids, tuple(instances), cases, view_ids)


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
        "job_parameters": ["user_group", "set_id", "library", "nothing"],
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
