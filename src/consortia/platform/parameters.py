"""Institution parameters (P-2): typed values with defaults, who may change each, and the verbs that read
and change an institution's parameters by its code.

The history kind and access-check object type `parameter` are at the end (handed over in `platform.domain`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import allows, authorize, can_see
from consortia.audit.registry import HistoryScope
from consortia.audit.service import record
from consortia.errors import BadRequest, Forbidden, NotFound
from consortia.platform.consortium_service import access_institution
from consortia.platform.models import Institution, InstitutionParameter
from consortia.text import has_control_characters


@dataclass(frozen=True)
class ParameterDefinition:
    """One parameter: its key, type and default, whether only the operator changes it, and how pages
    present it (`label`; `description`: what it does, completed by who may change it in `explanation`)."""

    name: str
    type: type
    default: Any
    operator_only: bool
    label: str
    description: str

    @property
    def who_may_change(self) -> str:
        if self.operator_only:
            return "only the operator can change it (contact support to enable)"
        return "the institution's General System Administrator can change it"

    @property
    def explanation(self) -> str:
        """One sentence: what the parameter does and who may change it."""
        return f"{self.description}; {self.who_may_change}."


DEFINITIONS: dict[str, ParameterDefinition] = {
    d.name: d
    for d in (
        ParameterDefinition(
            "temp_user_scope_limits_electronic_resources",
            bool,
            False,
            True,
            "Electronic resources limited by role scope",
            "Limit electronic resource edits to the libraries of the user's role scope",
        ),
        ParameterDefinition(
            "fulfillment_network_search_by_all",
            bool,
            False,
            False,
            "Network search by name",
            "Let other members of the fulfillment network find this institution's patrons by name, "
            "not only by identifier",
        ),
        ParameterDefinition(
            "consortial_id_type",
            str,
            "",
            False,
            "Consortial id type",
            "The identifier type used as consortial id: a walk-in patron whose consortial id equals that of "
            "a user here is joined to that user as a peer instead of getting a new linked account",
        ),
    )
}


@dataclass(frozen=True)
class ParameterTarget:
    """A parameter of one institution: the object of `parameter:read` and `parameter:edit`."""

    institution_id: int | None
    definition: ParameterDefinition

    @property
    def operator_only(self) -> bool:
        return self.definition.operator_only


def editable_definitions() -> list[ParameterDefinition]:
    return list(DEFINITIONS.values())


def may_change_some(identity: Identity) -> bool:
    """Whether `identity` may change at least one parameter of the institution it works in (who sees the
    Parameters page in the navigation)."""
    return any(
        allows(identity, P.PARAMETER_EDIT, ParameterTarget(identity.acting_institution_id, definition))
        for definition in editable_definitions()
    )


def edit_denial(definition: ParameterDefinition) -> str:
    """Why a person who may see a parameter may not change it (P-2, P-8)."""
    if definition.operator_only:
        return f"Only the operator can change {definition.name}: contact support to enable it."
    return f"Only the institution's General System Administrator can change {definition.name}."


def _definition(name: str) -> ParameterDefinition:
    definition = DEFINITIONS.get(name)
    if definition is None:
        raise NotFound(f"Parameter {name} was not found.")
    return definition


def access_parameter(
    identity: Identity, institution: Institution, name: str, permission: P = P.PARAMETER_READ
) -> ParameterTarget:
    """A parameter of `institution`, checked for `permission`: 404 when unknown or not visible, else 403."""
    definition = _definition(name)
    target = ParameterTarget(institution.id, definition)
    authorize(identity, permission, target, not_found=NotFound(f"Parameter {name} was not found."))
    return target


def coerce(definition: ParameterDefinition, value: Any) -> Any:
    """A value of the parameter's type; strings "true"/"false" are accepted for booleans (forms)."""
    if definition.type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise BadRequest(f"{definition.name} takes true or false.", "40166411")
    if definition.type is str:
        if not isinstance(value, str) or len(value) > 200:
            raise BadRequest(f"{definition.name} takes a text value.", "40166411")
        if has_control_characters(value):
            raise BadRequest(f"The value of {definition.name} holds control characters.", "40166411")
        return value.strip()
    raise BadRequest(f"{definition.name} has an unsupported type.", "40166411")


def parameter_value(session: Session, institution_id: int, name: str) -> Any:
    definition = _definition(name)
    stored = session.get(InstitutionParameter, (institution_id, name))
    return definition.default if stored is None else stored.value


def parameters_of(session: Session, identity: Identity, institution: Institution) -> list[dict[str, Any]]:
    """Every parameter of an institution with its value, default, and whether `identity` may change it
    (`editable`, and `note` saying why not)."""
    stored = {
        row.name: row.value
        for row in session.scalars(
            select(InstitutionParameter).where(InstitutionParameter.institution_id == institution.id)
        )
    }
    rows = []
    for definition in DEFINITIONS.values():
        target = ParameterTarget(institution.id, definition)
        authorize(identity, P.PARAMETER_READ, target, not_found=NotFound("Institution not found.", "60224"))
        editable = allows(identity, P.PARAMETER_EDIT, target)
        rows.append(
            {
                "name": definition.name,
                "label": definition.label,
                "explanation": definition.explanation,
                "value": stored.get(definition.name, definition.default),
                "default": definition.default,
                "description": definition.description,
                "operator_only": definition.operator_only,
                "editable": editable,
                "note": "" if editable else edit_denial(definition),
            }
        )
    return rows


def set_parameter(session: Session, identity: Identity, institution: Institution, name: str, value: Any) -> Any:
    """Change one parameter of an institution, as the permission map allows, with history."""
    definition = _definition(name)
    target = ParameterTarget(institution.id, definition)
    if not can_see(identity, P.PARAMETER_EDIT, target):
        raise NotFound(f"Parameter {name} was not found.")
    if not allows(identity, P.PARAMETER_EDIT, target):
        raise Forbidden(edit_denial(definition))
    new = coerce(definition, value)
    stored = session.get(InstitutionParameter, (institution.id, name))
    old = definition.default if stored is None else stored.value
    if stored is None:
        session.add(InstitutionParameter(institution_id=institution.id, name=name, value=new))
    else:
        stored.value = new
    record(
        session,
        entity="parameter",
        entity_id=name,
        field="value",
        old=old,
        new=new,
        actor=identity.actor,
        institution_id=institution.id,
    )
    return new


# --- by institution code ------------------------------------------------------------------------


def institution_parameters(
    session: Session, identity: Identity, institution_code: str
) -> tuple[Institution, list[dict[str, Any]]]:
    """An institution's parameters with value, default and whether `identity` may change each."""
    institution = access_institution(session, identity, institution_code, P.PARAMETER_READ)
    return institution, parameters_of(session, identity, institution)


def set_institution_parameter(
    session: Session, identity: Identity, institution_code: str, name: str, value: Any
) -> dict[str, Any]:
    """Change one parameter (operator-only ones: the operator only), with history; answers its new row."""
    institution = access_institution(session, identity, institution_code, P.PARAMETER_READ)
    set_parameter(session, identity, institution, name, value)
    return next(row for row in parameters_of(session, identity, institution) if row["name"] == name)


# --- history kind and access-check object -------------------------------------------------------


def parameter_here(session: Session, identity: Identity, name: str) -> ParameterTarget:
    """A parameter of the institution the caller works in, checked for `parameter:read`."""
    return access_parameter(identity, acting_institution(session, identity), name)


def parameter_history(session: Session, identity: Identity, name: str) -> HistoryScope:
    target = parameter_here(session, identity, name)
    return HistoryScope(target.definition.name, target.institution_id)
