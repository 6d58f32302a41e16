"""Every error code the API answers, with its statuses and when it is given: the table of docs/errors.md
and of the OpenAPI description. A test scans the source for the codes passed to the error classes and
the handlers and fails on any code missing here (and on any code here that nothing gives).

Alma's own codes mean what they mean in Alma; 402119 is Alma's general error, given alike for an
unknown resource and for a failure that has no more specific code.
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorCode(NamedTuple):
    code: str
    statuses: str
    when: str


ERROR_CODES: tuple[ErrorCode, ...] = (
    # general ones: the defaults of consortia.errors and of the handlers in consortia.http.errors
    ErrorCode(
        "402119",
        "400, 404, 500",
        "Alma's general error. 404: an unknown resource (path, library, consortium, fulfillment network, case, "
        "API key, parameter, attachment, list view, confirmation token) or one outside the caller's tenancy "
        "(the two look the same). 400: a request refused without a more specific code (a case status it "
        "cannot move to, a closed choice not among its values, a registration e-mail outside the "
        "institution's domains). 500: an unexpected failure; nothing was changed.",
    ),
    ErrorCode(
        "40166411",
        "400",
        'Alma\'s "Param value is invalid": a parameter or body field that is malformed, out of range, too '
        "long or of the wrong kind, a body that is not JSON/XML, a code or e-mail domain already in use, an "
        "unknown name in a list of references.",
    ),
    ErrorCode(
        "UNAUTHORIZED",
        "401",
        "No API key, a key that is unknown or revoked, or the key of a user who may not sign in (inactive or expired).",
    ),
    ErrorCode(
        "FORBIDDEN",
        "403",
        "The caller may see the resource but not do this (its role, scope or Support Center level does not "
        "allow it); the message says why. Also a page form whose CSRF token is missing or stale.",
    ),
    ErrorCode(
        "CONFLICT",
        "409",
        "A stale version (someone else changed the record since it was read), a change to a closed case, a "
        "value that collides with an existing record, a deletion that history forbids.",
    ),
    ErrorCode(
        "PER_SECOND_THRESHOLD",
        "429",
        "Too many failed sign-ins for the account (the sign-in page); wait and try again.",
    ),
    ErrorCode(
        "SERVICE_UNAVAILABLE",
        "503",
        "The database cannot be reached; nothing was changed. Try again shortly.",
    ),
    # users (Alma's codes of the users API)
    ErrorCode("401664", "400", 'Alma\'s "Mandatory field is missing": primary_id, last_name; a password too short.'),
    ErrorCode("401850", "400", "Alma's \"Failed to delete user\": deleting one's own account."),
    ErrorCode(
        "401851",
        "400",
        'Alma\'s "User with identifier of type Y already exists": a primary id or identifier already used, '
        "or given twice in one body.",
    ),
    ErrorCode("401852", "400", 'Alma\'s "Given user group is not legal."'),
    ErrorCode(
        "401857",
        "400",
        'Alma\'s "The given user account type is illegal": creating an account that is not INTERNAL, or '
        "changing the account type.",
    ),
    ErrorCode("401858", "400", "The primary id of a user cannot be changed."),
    ErrorCode("401861", "404", 'Alma\'s "User with identifier X was not found."'),
    ErrorCode("401863", "400", "An identifier type that is not supported."),
    ErrorCode("401890", "404", 'Alma\'s "User with identifier X of type Y was not found."'),
    ErrorCode(
        "4019990", "404", 'Alma\'s "User with source identifier X of institution Y was not found." (linked accounts)'
    ),
    ErrorCode("60106", "400", 'Alma\'s "Invalid query format." (the `q` of `GET /users`)'),
    ErrorCode(
        "60224",
        "400, 404",
        'Alma\'s "Organization institution not found.": an unknown institution (404; 400 when named in a '
        "query filter), or no institution to work in (400: the operator names one with `?institution=`).",
    ),
    ErrorCode("60228", "400", 'Alma\'s "Failed to create linked user account." (linking is not available yet)'),
    # configuration
    ErrorCode("402469", "400", 'Alma\'s "The library code is not valid." (unknown, or of another institution)'),
    ErrorCode("90101", "400", 'Alma\'s "Table does not exist." (code tables)'),
    # jobs
    ErrorCode("402215", "400", 'Alma\'s "Job ID format is not valid."'),
    ErrorCode("402216", "400", 'Alma\'s "Job ID is not valid." (unknown, or not visible to the caller)'),
    ErrorCode("402218", "404", "A job instance that does not exist or is not visible to the caller."),
    ErrorCode("402220", "400", "`POST /conf/jobs/{id}` without `op`."),
    ErrorCode(
        "402221", "400, 405", "An operation (`op`) that is not supported; 405: an HTTP method the path does not take."
    ),
    ErrorCode("402228", "400", "A mandatory job parameter is missing."),
    ErrorCode("402229", "400", "A mandatory job parameter is empty."),
)


def markdown_table() -> str:
    lines = ["| Code | Status | When |", "|---|---|---|"]
    lines += [f"| `{e.code}` | {e.statuses} | {e.when} |" for e in ERROR_CODES]
    return "\n".join(lines)
