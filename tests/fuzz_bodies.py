"""Well-formed request bodies for the API fuzzer (tests/test_fuzz_api.py; no tests here).

Bodies generated from the schema alone are almost never accepted by the domain (a code with control
characters, a user without a last name), so the writes would rarely get past their first check. For the
writes below the fuzzer also draws bodies built from the world's vocabulary (tests/fuzz_world.py): right
shapes with values that exist, belong to another tenant, do not exist, or sit at the edges.

For the text sweep: one well-formed example body per write (`EXAMPLE_BODIES`, else `sample_body` from the
OpenAPI schema) and the helpers that replace each of its strings in turn.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz_world import LONE_SURROGATE

Words = dict[str, list[str | int]]


def _word(words: Words, name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(words[name])


def _text(words: Words, name: str) -> st.SearchStrategy[Any]:
    """A word of `name`, or text that no database can store."""
    return st.sampled_from([*words[name], LONE_SURROGATE, f"A{LONE_SURROGATE}B"])


def _coded(words: Words, name: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"value": _word(words, name)})


def _user(words: Words) -> st.SearchStrategy[dict[str, Any]]:
    role = st.fixed_dictionaries(
        {"role_type": _coded(words, "role_types")},
        optional={
            "scope": _coded(words, "scopes"),
            "status": _coded(words, "statuses"),
            "expiry_date": _word(words, "dates"),
        },
    )
    identifier = st.fixed_dictionaries({"id_type": _coded(words, "id_types"), "value": _word(words, "people")})
    block = st.fixed_dictionaries(
        {"block_type": st.just({"value": "GENERAL"})},
        optional={
            "block_description": st.fixed_dictionaries({"value": st.sampled_from(["GLOBAL", "NOTE", ""])}),
            "block_status": _word(words, "statuses"),
            "block_note": _text(words, "texts"),
            "segment_type": st.sampled_from(["Internal", "External", "Other"]),
        },
    )
    contact = st.fixed_dictionaries(
        {},
        optional={
            "email": st.lists(
                st.fixed_dictionaries({"email_address": _word(words, "emails")}, optional={"preferred": st.booleans()}),
                max_size=3,
            ),
            "phone": st.lists(st.fixed_dictionaries({"phone_number": st.just("+1 555 0100")}), max_size=2),
            "address": st.lists(
                st.fixed_dictionaries({"line1": st.just("1 Main Street"), "city": st.just("Eastville")}), max_size=2
            ),
        },
    )
    return st.fixed_dictionaries(
        {"primary_id": _word(words, "new_people"), "last_name": _text(words, "names")},
        optional={
            "first_name": _text(words, "names"),
            "record_type": _coded(words, "record_types"),
            "user_group": _coded(words, "user_groups"),
            "status": _coded(words, "statuses"),
            "birth_date": _word(words, "dates"),
            "expiry_date": _word(words, "dates"),
            "purge_date": _word(words, "dates"),
            "support_level": _coded(words, "support_levels"),
            "password": st.sampled_from(["correct horse battery", "short", ""]),
            "user_identifier": st.lists(identifier, max_size=3),
            "user_role": st.lists(role, max_size=4),
            "user_block": st.lists(block, max_size=2),
            "contact_info": contact,
            "version": st.sampled_from([1, 0, "x"]),
        },
    )


def valid_bodies(words: Words) -> dict[str, st.SearchStrategy[Any]]:
    """Operation label -> a strategy of well-formed bodies for it."""
    code = _word(words, "new_codes")
    name = _text(words, "names")
    members = st.lists(st.one_of(_word(words, "institutions"), _coded(words, "institutions")), max_size=4)
    user = _user(words)
    return {
        "POST /almaws/v1/users": user,
        "PUT /almaws/v1/users/{user_id}": user,
        "PUT /almaws/v1/conf/code-tables/{name}": st.fixed_dictionaries(
            {
                "row": st.lists(
                    st.fixed_dictionaries(
                        {"code": _word(words, "user_groups")},
                        optional={"description": name, "default": st.booleans(), "enabled": st.booleans()},
                    ),
                    max_size=5,
                )
            }
        ),
        "POST /almaws/v1/conf/jobs/{job_id}": st.fixed_dictionaries(
            {
                "parameter": st.lists(
                    st.fixed_dictionaries(
                        {"name": _coded(words, "job_parameters"), "value": _text(words, "user_groups")}
                    ),
                    max_size=3,
                )
            }
        ),
        "PUT /api/v1/jobs/{job_id}/schedule": st.fixed_dictionaries(
            {"frequency": _word(words, "frequencies"), "time": _text(words, "times")},
            optional={
                "weekday": _word(words, "weekdays"),
                "day": st.integers(min_value=0, max_value=32),
                "parameters": st.dictionaries(
                    _word(words, "job_parameters"), _text(words, "job_parameter_values"), max_size=2
                ),
                "version": st.integers(min_value=0, max_value=3),
            },
        ),
        "POST /api/v1/consortia": st.fixed_dictionaries({"code": code, "name": name}),
        "PATCH /api/v1/consortia/{code}": st.fixed_dictionaries({}, optional={"code": code, "name": name}),
        "POST /api/v1/institutions": st.fixed_dictionaries(
            {"code": code, "name": name},
            optional={
                "consortium": st.one_of(st.none(), _word(words, "consortia"), _coded(words, "consortia")),
                "email_domains": st.lists(_word(words, "domains"), max_size=3),
            },
        ),
        "PATCH /api/v1/institutions/{code}": st.fixed_dictionaries(
            {},
            optional={
                "code": code,
                "name": name,
                "consortium": st.one_of(st.none(), st.just(""), _word(words, "consortia")),
                "email_domains": st.lists(_word(words, "domains"), max_size=3),
            },
        ),
        "POST /api/v1/institutions/{code}/libraries": st.fixed_dictionaries(
            {"code": _word(words, "libraries"), "name": name},
            optional={"campus": st.just(""), "resource_sharing": st.booleans()},
        ),
        "POST /api/v1/fulfillment-networks": st.fixed_dictionaries(
            {"code": code, "name": name}, optional={"members": members}
        ),
        "PATCH /api/v1/fulfillment-networks/{code}": st.fixed_dictionaries({}, optional={"code": code, "name": name}),
        "PUT /api/v1/fulfillment-networks/{code}/members": st.fixed_dictionaries({"members": members}),
        "PUT /api/v1/institutions/{code}/parameters/{name}": st.fixed_dictionaries(
            {"value": st.one_of(st.booleans(), _text(words, "texts"), st.none(), st.integers())}
        ),
    }


# --- the text sweep: every string of a well-formed body replaced by text no database stores alike ---------

# Bodies that reach the code behind validation (a generic sample would name an unknown job parameter, a
# boolean parameter, a user without a last name).
EXAMPLE_BODIES: dict[str, Any] = {
    "POST /almaws/v1/users": {
        "primary_id": "new-person",
        "first_name": "New",
        "last_name": "Person",
        "record_type": {"value": "PUBLIC"},
        "user_group": {"value": "UNDERGRAD"},
        "expiry_date": "2030-01-31Z",
        "user_identifier": [{"id_type": {"value": "BARCODE"}, "value": "B-900"}],
        "user_role": [{"role_type": {"value": "PATRON"}, "scope": {"value": "EAST"}, "status": {"value": "ACTIVE"}}],
        "user_block": [
            {"block_type": {"value": "GENERAL"}, "block_description": {"value": "GLOBAL"}, "block_note": "n"}
        ],
        "contact_info": {"email": [{"email_address": "new@east.example.edu", "preferred": True}]},
    },
    "POST /almaws/v1/conf/jobs/{job_id}": {"parameter": [{"name": {"value": "user_group"}, "value": "UNDERGRAD"}]},
    "PUT /api/v1/institutions/{code}/parameters/{name}": {"value": "BARCODE"},
    "PUT /api/v1/jobs/{job_id}/schedule": {
        "frequency": "DAILY",
        "time": "02:00",
        "parameters": {"user_group": "UNDERGRAD"},
    },
    "PUT /almaws/v1/conf/code-tables/{name}": {"row": [{"code": "UNDERGRAD", "description": "Undergraduate"}]},
    "PUT /api/v1/fulfillment-networks/{code}/members": {"members": ["EAST", {"value": "WEST"}]},
}
EXAMPLE_BODIES["PUT /almaws/v1/users/{user_id}"] = {**EXAMPLE_BODIES["POST /almaws/v1/users"], "primary_id": "east-pat"}


def sample_body(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """A deterministic instance of a JSON schema of the OpenAPI document: every property, one array item,
    the first branch that is not null, "x" for text."""
    while isinstance(schema, dict) and "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(schema, dict) or depth > 4:
        return "x"
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            branches = [b for b in schema[keyword] if not (isinstance(b, dict) and b.get("type") == "null")]
            return sample_body(branches[0], components, depth) if branches else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: sample_body(sub, components, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample_body(schema.get("items", {}), components, depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": True}.get(str(kind), "x")


def string_leaves(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where `value` holds text (paths of keys and list indexes)."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in string_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in string_leaves(item, (*path, index))]
    return []


def replaced(value: Any, path: tuple[str | int, ...], new: Any) -> Any:
    """A copy of `value` with the text at `path` replaced by `new`."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {key: replaced(item, rest, new) if key == head else item for key, item in value.items()}
    return [replaced(item, rest, new) if index == head else item for index, item in enumerate(value)]
