"""Linked-account rules (CN-2, CN-3): the ordered list of an institution with its default rule, the
verbs that change it (with history, entity `rule`) and the choice of the rule for a walk-in patron.

Every change raises the version of the institution's rule list (`RuleList`), so that two
administrators editing or reordering at once cannot both win: the second answers 409 (R-4). A change
that names the version it read (`version` in the body, or If-Match) is refused with 409 when the
list or the rule has changed since.

Decisions where the seed is silent:
- A rule other than the default needs at least one input parameter (a rule without any would hide
  the default rule for good).
- `=` and `!=` take exactly one institution, `in` and `not in` one or more.
- Offsets are whole numbers from -999 to 999 (the purge date: 0 to 999, "after expiration").
- The default rule starts with the institution's default user group, no dates, no refresh.
- A duplicate is placed right after its original, named "<name> (copy)".
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, authorize
from consortia.audit.models import Actor
from consortia.audit.service import record
from consortia.errors import BadRequest, Conflict, NotFound
from consortia.network.models import (
    ABSOLUTE,
    DEFAULT_RULE_ID,
    NONE,
    RELATIVE,
    LinkedAccountRule,
    RuleList,
)
from consortia.network.policy import partner_ids
from consortia.network.schemas import DateSpecIn, RuleIn, RuleOutputIn
from consortia.platform import codetables
from consortia.platform.models import Institution, Library

DEFAULT_NAME = "Default rule"
MAX_DATE = dt.date(9999, 12, 31)


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"Linked account rule {rule_id} was not found.", "402119")


def stale() -> Conflict:
    return Conflict("The linked account rules were changed by someone else in the meantime; reload and try again.")


# --- the list ---------------------------------------------------------------------------------


def access_rules(session: Session, identity: Identity, permission: P = P.NETWORK_CONFIG_READ) -> Institution:
    """The institution whose rules the caller works on, checked for `permission` (403 with the reason when
    the caller may see the rules but not change them)."""
    institution = acting_institution(session, identity)
    authorize(identity, permission, InInstitution(institution.id), not_found=rule_not_found("list"))
    return institution


def rules_of(session: Session, institution_id: int) -> list[LinkedAccountRule]:
    """The institution's rules in the order they are tried (the default rule is not among them)."""
    return list(
        session.scalars(
            select(LinkedAccountRule)
            .where(LinkedAccountRule.institution_id == institution_id)
            .order_by(LinkedAccountRule.position, LinkedAccountRule.id)
        )
    )


def list_version(session: Session, institution_id: int) -> int:
    row = session.get(RuleList, institution_id)
    return 0 if row is None else row.version


def _touch_list(session: Session, institution_id: int, expected: int | None) -> RuleList:
    """Check the version the caller read and raise it (the UPDATE is guarded by the old version)."""
    row = session.get(RuleList, institution_id)
    current = 0 if row is None else row.version
    if expected is not None and expected != current:
        raise stale()
    if row is None:
        row = RuleList(institution_id=institution_id)
        session.add(row)
    else:
        flag_modified(row, "default_output")
    session.flush()
    return row


def default_group(session: Session, institution_id: int) -> str:
    rows = codetables.code_table(session, institution_id, codetables.USER_GROUPS)
    chosen = next((row for row in rows if row.default and row.enabled), None)
    return chosen.code if chosen is not None else ""


def empty_date() -> dict[str, Any]:
    return {"type": NONE, "date": None, "offset": None, "unit": None}


def default_output(session: Session, institution_id: int) -> dict[str, Any]:
    """The default rule's output parameters (CN-2), as set or as it starts."""
    row = session.get(RuleList, institution_id)
    if row is not None and row.default_output:
        return dict(row.default_output)
    return {
        "user_group": default_group(session, institution_id),
        "expiry": empty_date(),
        "purge": empty_date(),
        "refresh_expiry": False,
        "refresh_purge": False,
        "resource_sharing_library": None,
        "copy_network_blocks": False,
        "description": "",
    }


def _renumber(rules: list[LinkedAccountRule], session: Session, actor: Actor) -> None:
    for position, rule in enumerate(rules, start=1):
        if rule.position != position:
            if rule.id is not None:
                record(
                    session,
                    entity="rule",
                    entity_id=rule.id,
                    field="position",
                    old=rule.position,
                    new=position,
                    actor=actor,
                    institution_id=rule.institution_id,
                )
            rule.position = position


# --- checking a rule --------------------------------------------------------------------------


def _partner_codes(session: Session, institution_id: int) -> set[str]:
    return set(session.scalars(select(Institution.code).where(Institution.id.in_(partner_ids(institution_id)))))


def _parse_date(value: str | None, field: str) -> str:
    if not value:
        raise BadRequest(f"{field}: an absolute date needs a date (YYYY-MM-DD).", "40166411")
    try:
        return dt.date.fromisoformat(value.strip().rstrip("Z")[:10]).isoformat()
    except ValueError:
        raise BadRequest(f"{field}: {value!r} is not a date (YYYY-MM-DD).", "40166411") from None


def _check_date(spec: DateSpecIn, field: str, *, after_only: bool) -> dict[str, Any]:
    if spec.type == NONE:
        return empty_date()
    if spec.type == ABSOLUTE:
        return {"type": ABSOLUTE, "date": _parse_date(spec.date, f"{field}.date"), "offset": None, "unit": None}
    if spec.unit is None:
        raise BadRequest(f"{field}.unit: a relative date needs a unit (DAYS, WEEKS, MONTHS or YEARS).", "40166411")
    offset = spec.offset if spec.offset is not None else 0
    if after_only and offset < 0:
        raise BadRequest(f"{field}.offset: the purge date is a period after the expiry date (0 to 999).", "40166411")
    return {"type": RELATIVE, "date": None, "offset": offset, "unit": spec.unit}


def check_output(session: Session, institution: Institution, output: RuleOutputIn) -> dict[str, Any]:
    """The output parameters to keep, or 400 naming the field."""
    group = output.user_group.strip()
    groups = codetables.enabled_codes(session, institution.id, codetables.USER_GROUPS)
    if group not in groups:
        raise BadRequest(f"output.user_group: {group} is not a user group of {institution.code}.", "401852")
    library_code = None
    if output.resource_sharing_library:
        code = output.resource_sharing_library.strip().upper()
        library = session.scalars(
            select(Library).where(Library.code == code, Library.institution_id == institution.id)
        ).first()
        if library is None or not library.resource_sharing:
            raise BadRequest(
                f"output.resource_sharing_library: {code} is not a resource sharing library of {institution.code}.",
                "402469",
            )
        library_code = library.code
    return {
        "user_group": group,
        "expiry": _check_date(output.expiry, "output.expiry", after_only=False),
        "purge": _check_date(output.purge, "output.purge", after_only=True),
        "refresh_expiry": output.refresh_expiry,
        "refresh_purge": output.refresh_purge,
        "resource_sharing_library": library_code,
        "copy_network_blocks": output.copy_network_blocks,
    }


def check_inputs(session: Session, institution: Institution, body: RuleIn) -> list[dict[str, Any]]:
    partners = _partner_codes(session, institution.id)
    inputs = []
    for index, item in enumerate(body.input):
        codes = [value.strip().upper() for value in item.value]
        if item.operator in {"=", "!="} and len(codes) != 1:
            raise BadRequest(f"input[{index}].value: the operator {item.operator} takes exactly one institution.")
        for code in codes:
            if code not in partners:
                raise BadRequest(
                    f"input[{index}].value: {code} is not an institution sharing a fulfillment network with "
                    f"{institution.code}.",
                    "401651",
                )
        inputs.append({"parameter": item.parameter, "operator": item.operator, "value": sorted(set(codes))})
    return inputs


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _record_rule(session: Session, rule: LinkedAccountRule, field: str, old: Any, new: Any, actor: Actor) -> None:
    record(
        session,
        entity="rule",
        entity_id=rule.id,
        field=field,
        old=old,
        new=new,
        actor=actor,
        institution_id=rule.institution_id,
    )


# --- the verbs --------------------------------------------------------------------------------


def access_rule(
    session: Session, identity: Identity, rule_id: str, permission: P = P.NETWORK_CONFIG_READ
) -> LinkedAccountRule:
    """A rule of the caller's institution; other institutions' rules answer like unknown ones."""
    institution = acting_institution(session, identity)
    rule = None
    if rule_id.strip().isdecimal() and len(rule_id.strip()) < 10:
        rule = session.scalars(
            select(LinkedAccountRule).where(
                LinkedAccountRule.id == int(rule_id), LinkedAccountRule.institution_id == institution.id
            )
        ).first()
    authorize(identity, permission, rule, not_found=rule_not_found(rule_id))
    assert rule is not None
    return rule


def create_rule(session: Session, identity: Identity, body: RuleIn) -> LinkedAccountRule:
    """A new rule at the end of the list (before the default rule)."""
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    inputs = check_inputs(session, institution, body)
    output = check_output(session, institution, body.output)
    _touch_list(session, institution.id, body.version)
    rules = rules_of(session, institution.id)
    rule = LinkedAccountRule(
        institution_id=institution.id,
        name=body.name,
        description=body.description,
        position=len(rules) + 1,
        inputs=inputs,
        output=output,
    )
    session.add(rule)
    session.flush()
    _record_rule(session, rule, "rule", None, f"created: {rule.name}", identity.actor)
    _record_rule(session, rule, "input", None, _text(inputs), identity.actor)
    _record_rule(session, rule, "output", None, _text(output), identity.actor)
    _record_rule(session, rule, "position", None, rule.position, identity.actor)
    return rule


def update_rule(
    session: Session, identity: Identity, rule: LinkedAccountRule, body: RuleIn, *, if_match: int | None = None
) -> LinkedAccountRule:
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    expected = body.version if body.version is not None else if_match
    if expected is not None and expected != rule.version:
        raise stale()
    inputs = check_inputs(session, institution, body)
    output = check_output(session, institution, body.output)
    _touch_list(session, institution.id, None)
    changes = (
        ("name", rule.name, body.name),
        ("description", rule.description, body.description),
        ("input", _text(rule.inputs), _text(inputs)),
        ("output", _text(rule.output), _text(output)),
    )
    for field, old, new in changes:
        _record_rule(session, rule, field, old, new, identity.actor)
    rule.name, rule.description, rule.inputs, rule.output = body.name, body.description, inputs, output
    session.flush()
    return rule


def duplicate_rule(session: Session, identity: Identity, rule: LinkedAccountRule) -> LinkedAccountRule:
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    _touch_list(session, institution.id, None)
    rules = rules_of(session, institution.id)
    copy = LinkedAccountRule(
        institution_id=institution.id,
        name=f"{rule.name} (copy)"[:200],
        description=rule.description,
        position=rule.position + 1,
        inputs=list(rule.inputs),
        output=dict(rule.output),
    )
    at = rules.index(rule) + 1
    ordered = [*rules[:at], copy, *rules[at:]]
    _renumber([r for r in ordered if r is not copy], session, identity.actor)
    copy.position = at + 1
    _renumber(ordered, session, identity.actor)
    session.add(copy)
    session.flush()
    _record_rule(session, copy, "rule", None, f"created: {copy.name} (duplicate of rule {rule.id})", identity.actor)
    _record_rule(session, copy, "input", None, _text(copy.inputs), identity.actor)
    _record_rule(session, copy, "output", None, _text(copy.output), identity.actor)
    _record_rule(session, copy, "position", None, copy.position, identity.actor)
    return copy


def delete_rule(session: Session, identity: Identity, rule: LinkedAccountRule, *, if_match: int | None = None) -> None:
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    if if_match is not None and if_match != rule.version:
        raise stale()
    _touch_list(session, institution.id, None)
    _record_rule(session, rule, "rule", f"{rule.name}", "deleted", identity.actor)
    session.delete(rule)
    session.flush()
    _renumber(rules_of(session, institution.id), session, identity.actor)
    session.flush()


def reorder_rules(session: Session, identity: Identity, ids: list[str], *, version: int | None) -> None:
    """Put the rules in the order of `ids` (every rule once; the default rule stays last)."""
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    rules = rules_of(session, institution.id)
    wanted = [value.strip() for value in ids]
    if DEFAULT_RULE_ID in wanted:
        raise BadRequest("ids: the default rule is always last and cannot be moved.", "40166411")
    by_id = {str(rule.id): rule for rule in rules}
    if len(set(wanted)) != len(wanted) or set(wanted) != set(by_id):
        raise BadRequest("ids: name every rule of the list exactly once (the default rule excepted).", "40166411")
    _touch_list(session, institution.id, version)
    _renumber([by_id[value] for value in wanted], session, identity.actor)
    session.flush()


def move_rule(session: Session, identity: Identity, rule: LinkedAccountRule, step: int) -> None:
    """Move a rule one place up (-1) or down (+1); at either end nothing moves."""
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    ids = [str(r.id) for r in rules_of(session, institution.id)]
    at = ids.index(str(rule.id))
    target = at + step
    if 0 <= target < len(ids):
        ids[at], ids[target] = ids[target], ids[at]
    reorder_rules(session, identity, ids, version=None)


def set_default_rule(
    session: Session, identity: Identity, output: RuleOutputIn, description: str, *, version: int | None
) -> dict[str, Any]:
    institution = access_rules(session, identity, P.NETWORK_CONFIG_EDIT)
    checked = check_output(session, institution, output)
    checked["description"] = description
    old = default_output(session, institution.id)
    row = _touch_list(session, institution.id, version)
    row.default_output = checked
    session.flush()
    record(
        session,
        entity="rule",
        entity_id=DEFAULT_RULE_ID,
        field="output",
        old=_text(old),
        new=_text(checked),
        actor=identity.actor,
        institution_id=institution.id,
    )
    return checked


# --- the choice (CN-3) ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleChoice:
    """The rule that applies to a walk-in patron: its id (`default` for the default rule), name, why,
    and its output parameters."""

    rule_id: str
    name: str
    reason: str
    output: dict[str, Any]


def _holds(condition: dict[str, Any], source_code: str) -> bool:
    values = set(condition.get("value") or [])
    operator = condition.get("operator")
    if operator in {"=", "in"}:
        return source_code in values
    if operator in {"!=", "not in"}:
        return source_code not in values
    return False


def _describe(condition: dict[str, Any]) -> str:
    return f"Source Institution {condition.get('operator')} {', '.join(condition.get('value') or [])}"


def choose_rule(session: Session, institution_id: int, source_code: str) -> RuleChoice:
    """The first rule whose input parameters all hold for a patron of `source_code`, else the default."""
    for rule in rules_of(session, institution_id):
        if rule.inputs and all(_holds(condition, source_code) for condition in rule.inputs):
            reason = f"Rule {rule.position} holds: " + "; ".join(_describe(c) for c in rule.inputs) + "."
            return RuleChoice(str(rule.id), rule.name, reason, dict(rule.output))
    return RuleChoice(
        DEFAULT_RULE_ID,
        DEFAULT_NAME,
        "No rule's input parameters hold, so the default rule applies.",
        default_output(session, institution_id),
    )


def rule_name(session: Session, institution_id: int, rule_id: str | None) -> str | None:
    """The current name of a recorded rule (None when it has been deleted)."""
    if rule_id is None:
        return None
    if rule_id == DEFAULT_RULE_ID:
        return DEFAULT_NAME
    if not rule_id.isdecimal():
        return rule_id
    return session.scalar(
        select(LinkedAccountRule.name).where(
            LinkedAccountRule.id == int(rule_id), LinkedAccountRule.institution_id == institution_id
        )
    )


# --- dates ------------------------------------------------------------------------------------


def shift(day: dt.date, offset: int, unit: str) -> dt.date:
    """`day` moved by `offset` days, weeks, months or years (month ends kept within the month)."""
    try:
        if unit == "DAYS":
            return day + dt.timedelta(days=offset)
        if unit == "WEEKS":
            return day + dt.timedelta(weeks=offset)
        months = offset * (12 if unit == "YEARS" else 1)
        index = day.year * 12 + day.month - 1 + months
        year, month = divmod(index, 12)
        if year < 1:
            return dt.date.min
        if year > MAX_DATE.year:
            return MAX_DATE
        last = calendar.monthrange(year, month + 1)[1]
        return dt.date(year, month + 1, min(day.day, last))
    except OverflowError:
        return MAX_DATE if offset > 0 else dt.date.min


def expiry_from(spec: dict[str, Any], source_expiry: dt.date | None) -> dt.date | None:
    """The linked account's expiry: none, absolute, or the source expiry ± the offset (none without one)."""
    kind = spec.get("type", NONE)
    if kind == ABSOLUTE:
        return dt.date.fromisoformat(spec["date"])
    if kind == RELATIVE and source_expiry is not None:
        return shift(source_expiry, int(spec.get("offset") or 0), str(spec.get("unit") or "DAYS"))
    return None


def purge_from(spec: dict[str, Any], linked_expiry: dt.date | None) -> dt.date | None:
    """The linked account's purge date: none, absolute, or a period after its expiry (none without one)."""
    kind = spec.get("type", NONE)
    if kind == ABSOLUTE:
        return dt.date.fromisoformat(spec["date"])
    if kind == RELATIVE and linked_expiry is not None:
        return shift(linked_expiry, int(spec.get("offset") or 0), str(spec.get("unit") or "DAYS"))
    return None
