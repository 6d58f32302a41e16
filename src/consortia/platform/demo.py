"""The platform's part of the demo that `consortia demo` builds once (`consortia.demo`), and the README's
sign-ins.

Two consortia (NLC with case sharing enabled, SCC without), four institutions with three libraries
each, the NLC fulfillment network, code tables, staff for every role and Support Center level, and
about twenty patrons per institution. Every primary id carries its institution's prefix (`east-…`),
so that each is unique across the demo and a sign-in needs no institution code.

The platform builds first, into a `DemoContext`; the domains that have demo data of their own (support
cases and licences, linked-account rules, electronic resources) add it on top, each through its
`Domain.demo(session, context)`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consortia.access import roles as R
from consortia.access.identity import hash_secret
from consortia.access.roles import RoleSpec, role_set_problems
from consortia.audit.models import SYSTEM
from consortia.db import today
from consortia.platform.auth import create_api_key
from consortia.platform.codetables import starter_rows
from consortia.platform.models import (
    ApiKey,
    CodeTableRow,
    Consortium,
    FulfillmentNetwork,
    Institution,
    InstitutionEmailDomain,
    InstitutionParameter,
    Library,
    User,
    UserBlock,
    UserIdentifier,
    UserRole,
)
from consortia.platform.setup import OPERATOR_ID

DEMO_PASSWORD = "consortia-demo"  # noqa: S105 - the published password of the demo accounts
# An API key of east-admin for trying the API, published like the password so that the README's
# examples work as written; stored as its hash like every key, printed by every `consortia demo`.
DEMO_API_KEY = "ck_consortia-demo-east-admin"
DEMO_API_KEY_USER = "east-admin"
DEMO_API_KEY_LABEL = "Demo key (consortia demo)"


@dataclass(frozen=True)
class SignIn:
    """One demo account: the user name to type, its institution's code ("" for the operator), and who it is."""

    username: str
    institution: str
    description: str


@dataclass
class DemoContext:
    """What the demo built, for the domains that add their demo data on top.

    `users` holds every demo user by primary id (staff and patrons); `password_hash` is the hash of
    `DEMO_PASSWORD`, to give new accounts the same password without hashing again. The licence
    rows of the `CONSORTIA` users (east-consortia, west-consortia) belong to the Support Center's
    demo: the platform only sets their `support_level`.
    """

    password_hash: str
    consortia: dict[str, Consortium] = field(default_factory=dict)
    institutions: dict[str, Institution] = field(default_factory=dict)
    libraries: dict[str, Library] = field(default_factory=dict)
    networks: dict[str, FulfillmentNetwork] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)

    def user(self, primary_id: str) -> User:
        return self.users[primary_id]


# --- the data, as readable tables ---------------------------------------------------------------

CONSORTIA = (
    # code, name, parent account, case sharing enabled
    ("NLC", "Northern Libraries Consortium", "NLC Parent Account", True),
    ("SCC", "Southern Colleges Consortium", "SCC Parent Account", False),
)

INSTITUTIONS = (
    # code, name, consortium, email domain
    ("EAST", "Eastern State University", "NLC", "east.example.edu"),
    ("WEST", "Western Tech", "NLC", "west.example.edu"),
    ("NORTH", "Northern College", "NLC", "north.example.edu"),
    ("SOUTH", "Southern College", "SCC", "south.example.edu"),
)

LIBRARIES = (
    # suffix, name, campus
    ("MAIN", "Main Library", "Main campus"),
    ("LAW", "Law Library", "Main campus"),
    ("SCI", "Science Library", "North campus"),
)

EMAIL_DOMAINS = {code: domain for code, _name, _consortium, domain in INSTITUTIONS}

NETWORKS = (("NLC_FN", "NLC Fulfillment Network", ("EAST", "WEST", "NORTH")),)

CONSORTIAL_ID_TYPE = "CONSORTIAL_ID"

# Staff of EAST and WEST, one per role (P-4); scopes name a library suffix, None = institution level.
ROLE_STAFF: tuple[tuple[str, str, str, tuple[tuple[str, str | None], ...]], ...] = (
    ("admin", "Ada", "Admin", ((R.GENERAL_SYSTEM_ADMINISTRATOR, None),)),
    ("users", "Uma", "Userman", ((R.USER_ADMINISTRATOR, None),)),
    ("desk", "Dev", "Deskworth", ((R.CIRCULATION_DESK_OPERATOR, None),)),
    ("eio", "Ellis", "Inventory", ((R.ELECTRONIC_INVENTORY_OPERATOR, None),)),
    (
        "eio-law",
        "Lena",
        "Lawson",
        ((R.ELECTRONIC_INVENTORY_OPERATOR, "LAW"), (R.ELECTRONIC_INVENTORY_OPERATOR_EXTENDED, "SCI")),
    ),
    ("cdi", "Cass", "Discovery", ((R.CDI_INVENTORY_OPERATOR, "SCI"),)),
    ("purchasing", "Pat", "Purchaser", ((R.PURCHASING_OPERATOR, "MAIN"),)),
    ("repo", "Remy", "Repository", ((R.REPOSITORY_MANAGER, None),)),
)

ROLE_STAFF_INSTITUTIONS = ("EAST", "WEST")

# Support Center contacts (SC-2): institution, primary id suffix, level, names.
SUPPORT_CONTACTS = (
    ("EAST", "basic", "BASIC", "Bea", "Basic"),
    ("EAST", "standard", "STANDARD", "Stan", "Standard"),
    ("EAST", "consortia", "CONSORTIA", "Connie", "Consortia"),
    ("WEST", "consortia", "CONSORTIA", "Corey", "Consortia"),
    ("NORTH", "standard", "STANDARD", "Nora", "Standard"),
    ("SOUTH", "standard", "STANDARD", "Sol", "Standard"),
)

SUPPORT_LEVEL_DESCRIPTIONS = {
    "BASIC": "Support Center Basic: only the cases they opened",
    "STANDARD": "Support Center Standard: every case of the institution",
    "CONSORTIA": "Support Center Consortia: Standard, plus cases shared by consortium partners",
}

PATRONS_PER_INSTITUTION = 20

FIRST_NAMES = (
    "Amara", "Bruno", "Chloe", "Dmitri", "Elena", "Farah", "Gustav", "Hana", "Ivan", "Jade",
    "Kofi", "Lucia", "Mateo", "Nadia", "Oscar", "Priya", "Quinn", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Banerjee", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Varga", "Walsh", "Xu", "Yilmaz", "Zhang",
)  # fmt: skip

# Patron groups in rotation; every tenth patron is faculty, the rest students, guests and walk-ins.
PATRON_GROUPS = (
    "UNDERGRAD",
    "UNDERGRAD",
    "GRAD",
    "UNDERGRAD",
    "GRAD",
    "GUEST",
    "UNDERGRAD",
    "GRAD",
    "WALKIN",
    "FACULTY",
)
INACTIVE_PATRONS = frozenset({7, 19})  # patron numbers that are INACTIVE
EXPIRED_PATRONS = frozenset({13})  # patron numbers whose expiry date has passed
NETWORK_BLOCKED_PATRONS = frozenset({5, 17})  # patron numbers with a network block
LOCAL_BLOCKED_PATRONS = frozenset({11})  # patron numbers with a local (non-network) block
CONSORTIAL_PATRONS = 5  # patrons 1..5 carry a consortial id
# The same person at two NLC institutions: equal consortial ids make their accounts peers (CN-9a).
SHARED_CONSORTIAL_PATRON = 1
SHARED_CONSORTIAL_INSTITUTIONS = frozenset({0, 1})  # positions in INSTITUTIONS: EAST and WEST


# --- building ------------------------------------------------------------------------------------


def demo_built(session: Session) -> bool:
    """Whether this database has the demo already (its first consortium exists)."""
    return session.scalar(select(Consortium.id).where(Consortium.code == CONSORTIA[0][0])) is not None


def build_platform_demo(session: Session, context: DemoContext) -> None:
    """The platform's demo data, into `context`: tenancy, code tables, staff and patrons.

    Every staff user's roles are checked with the ER-4 rules first: a demo that breaks them raises
    ValueError rather than showing an impossible state. The caller commits.
    """
    _build_tenancy(session, context)
    _build_code_tables(session, context)
    _build_staff(session, context)
    _build_patrons(session, context)
    session.flush()


def demo_api_key(session: Session) -> str | None:
    """`DEMO_API_KEY`, created for `DEMO_API_KEY_USER` (with history) when the demo has no such key yet;
    None when that key was revoked (it is never re-created then) or the demo user does not exist."""
    key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_secret(DEMO_API_KEY))).first()
    if key is not None:
        return DEMO_API_KEY if key.revoked_at is None else None
    user = session.scalars(
        select(User).where(User.primary_id_key == DEMO_API_KEY_USER, User.institution_id.is_not(None))
    ).first()
    if user is None:
        return None
    create_api_key(session, user, actor=SYSTEM, label=DEMO_API_KEY_LABEL, secret=DEMO_API_KEY)
    session.flush()
    return DEMO_API_KEY


def sign_ins() -> list[SignIn]:
    """The demo's sign-ins in reading order: the operator, then each institution's staff by role and
    Support Center level. All use `DEMO_PASSWORD`."""
    rows = [SignIn(OPERATOR_ID, "", "Operator: the vendor's support staff, acting in every consortium")]
    for code, _name, _consortium, _domain in INSTITUTIONS:
        prefix = code.lower()
        if code in ROLE_STAFF_INSTITUTIONS:
            for suffix, _first, _last, roles in ROLE_STAFF:
                rows.append(SignIn(f"{prefix}-{suffix}", code, _describe_roles(code, roles)))
        for institution, suffix, level, _first, _last in SUPPORT_CONTACTS:
            if institution == code:
                rows.append(SignIn(f"{prefix}-{suffix}", code, SUPPORT_LEVEL_DESCRIPTIONS[level]))
    return rows


def _describe_roles(institution: str, roles: tuple[tuple[str, str | None], ...]) -> str:
    parts = []
    for role_type, suffix in roles:
        scope = f"{institution}_{suffix}" if suffix else "institution level"
        parts.append(f"{R.ROLE_TYPES[role_type]} ({scope})")
    return " + ".join(parts)


def _build_tenancy(session: Session, context: DemoContext) -> None:
    for code, name, parent_account, sharing in CONSORTIA:
        consortium = Consortium(code=code, name=name, parent_account=parent_account, case_sharing_enabled=sharing)
        session.add(consortium)
        context.consortia[code] = consortium
    session.flush()
    for code, name, consortium_code, domain in INSTITUTIONS:
        institution = Institution(
            code=code,
            name=name,
            consortium_id=context.consortia[consortium_code].id,
            registration_token=secrets.token_urlsafe(16),
        )
        session.add(institution)
        session.flush()
        session.add(InstitutionEmailDomain(institution_id=institution.id, domain=domain))
        context.institutions[code] = institution
        for suffix, library_name, campus in LIBRARIES:
            library = Library(institution_id=institution.id, code=f"{code}_{suffix}", name=library_name, campus=campus)
            session.add(library)
            context.libraries[library.code] = library
        if consortium_code == "NLC":
            # The NLC members name their consortial id type, so that the shared patron below links as peers.
            session.add(
                InstitutionParameter(institution_id=institution.id, name="consortial_id_type", value=CONSORTIAL_ID_TYPE)
            )
    for code, name, members in NETWORKS:
        network = FulfillmentNetwork(code=code, name=name)
        network.members = [context.institutions[member] for member in members]
        session.add(network)
        context.networks[code] = network
    session.flush()


def _build_code_tables(session: Session, context: DemoContext) -> None:
    for institution in context.institutions.values():
        session.execute(insert(CodeTableRow), starter_rows(institution.id))


def _new_user(context: DemoContext, institution: Institution, primary_id: str, **fields: object) -> User:
    user = User(
        institution_id=institution.id,
        is_operator=False,
        primary_id=primary_id,
        primary_id_key=primary_id.lower(),
        **fields,
    )
    context.users[primary_id] = user
    return user


def _build_staff(session: Session, context: DemoContext) -> None:
    for code in ROLE_STAFF_INSTITUTIONS:
        institution = context.institutions[code]
        prefix = code.lower()
        library_codes = {
            library.code for library in context.libraries.values() if library.institution_id == institution.id
        }
        for suffix, first_name, last_name, roles in ROLE_STAFF:
            specs = [RoleSpec(role_type, f"{code}_{lib}" if lib else None) for role_type, lib in roles]
            problems = role_set_problems(specs, library_codes)
            if problems:
                raise ValueError(f"Demo user {prefix}-{suffix} has roles that break the role rules: {problems}")
            user = _staff(context, institution, f"{prefix}-{suffix}", first_name, last_name, "NONE")
            session.add(user)
            session.flush()
            for spec in specs:
                library = context.libraries[spec.library_code] if spec.library_code else None
                session.add(
                    UserRole(
                        user_id=user.id,
                        role_type=spec.role_type,
                        library_id=library.id if library else None,
                        status=spec.status,
                    )
                )
    for code, suffix, level, first_name, last_name in SUPPORT_CONTACTS:
        institution = context.institutions[code]
        session.add(_staff(context, institution, f"{code.lower()}-{suffix}", first_name, last_name, level))
    session.flush()


def _staff(
    context: DemoContext, institution: Institution, primary_id: str, first_name: str, last_name: str, level: str
) -> User:
    domain = EMAIL_DOMAINS[institution.code]
    return _new_user(
        context,
        institution,
        primary_id,
        record_type="STAFF",
        account_type="INTERNAL",
        status="ACTIVE",
        user_group="STAFF",
        first_name=first_name,
        last_name=last_name,
        email=f"{primary_id}@{domain}",
        phone="+1 555 0100",
        job_category="Library staff",
        support_level=level,
        email_confirmed=True,
        password_hash=context.password_hash,
    )


def _build_patrons(session: Session, context: DemoContext) -> None:
    start = today()
    for index, (code, _name, consortium_code, domain) in enumerate(INSTITUTIONS):
        institution = context.institutions[code]
        prefix = code.lower()
        for number in range(1, PATRONS_PER_INSTITUTION + 1):
            first_name, last_name = _patron_name(index, number)
            expiry = start + dt.timedelta(days=90 + 30 * number)
            if number in EXPIRED_PATRONS:
                expiry = start - dt.timedelta(days=30)
            primary_id = f"{prefix}-patron-{number:02d}"
            patron = _new_user(
                context,
                institution,
                primary_id,
                record_type="PUBLIC",
                account_type="INTERNAL",
                status="INACTIVE" if number in INACTIVE_PATRONS else "ACTIVE",
                user_group=PATRON_GROUPS[(number - 1) % len(PATRON_GROUPS)],
                first_name=first_name,
                last_name=last_name,
                email=f"{first_name}.{last_name}.{number:02d}@{domain}".lower(),
                phone=f"+1 555 {index + 2}{number:03d}",
                birth_date=dt.date(1970 + (number * 7 + index) % 35, 1 + number % 12, 1 + (number * 3) % 28),
                expiry_date=expiry,
                purge_date=expiry + dt.timedelta(days=365),
                support_level="NONE",
                email_confirmed=True,
                password_hash=None,
            )
            session.add(patron)
            session.flush()
            session.add(UserRole(user_id=patron.id, role_type=R.PATRON, library_id=None, expiry_date=expiry))
            identifiers = [("BARCODE", f"{code}{number:05d}"), ("UNIV_ID", f"{code[0]}{index + 1}-{number:04d}")]
            if number <= CONSORTIAL_PATRONS and consortium_code == "NLC":
                identifiers.append((CONSORTIAL_ID_TYPE, _consortial_id(index, number)))
            for id_type, value in identifiers:
                session.add(
                    UserIdentifier(
                        user_id=patron.id,
                        institution_id=institution.id,
                        id_type=id_type,
                        value=value,
                        value_key=value.lower(),
                        status="ACTIVE",
                    )
                )
            if number in NETWORK_BLOCKED_PATRONS:
                session.add(
                    UserBlock(
                        user_id=patron.id,
                        block_type="GENERAL",
                        description="Overdue fines in the network",
                        note="Unpaid fines of more than 50.00 at a partner library.",
                        network=True,
                    )
                )
            if number in LOCAL_BLOCKED_PATRONS:
                session.add(
                    UserBlock(
                        user_id=patron.id,
                        block_type="GENERAL",
                        description="Lost item",
                        note="Lost a laptop charger on loan.",
                        network=False,
                    )
                )
    session.flush()


def _patron_name(index: int, number: int) -> tuple[str, str]:
    if number == SHARED_CONSORTIAL_PATRON and index in SHARED_CONSORTIAL_INSTITUTIONS:
        # The same person in EAST and WEST: same name, same consortial id.
        return "Morgan", "Alvarez"
    first = FIRST_NAMES[(number * 5 + index * 3) % len(FIRST_NAMES)]
    last = LAST_NAMES[(number * 7 + index * 11) % len(LAST_NAMES)]
    return first, last


def _consortial_id(index: int, number: int) -> str:
    if number == SHARED_CONSORTIAL_PATRON and index in SHARED_CONSORTIAL_INSTITUTIONS:
        return "NLC-000001"
    return f"NLC-{index + 1}{number:05d}"
