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
        "PAYLOAD_TOO_LARGE",
        "413",
        "An uploaded file larger than the endpoint takes (the portfolio load: its size or row limit); nothing "
        "was loaded.",
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
    ErrorCode(
        "60106", "400", 'Alma\'s "Invalid query format." (the `q` of `GET /users` and `GET /electronic/e-collections`)'
    ),
    ErrorCode(
        "60224",
        "400, 404",
        'Alma\'s "Organization institution not found.": an unknown institution (404; 400 when named in a '
        "query filter), or no institution to work in (400: the operator names one with `?institution=`).",
    ),
    # collaborative network: linked accounts and the walk-in desk
    ErrorCode(
        "401651",
        "400",
        'Alma\'s "Source institution not valid or not part of fulfillment network.": a linked account rule whose '
        "Source Institution names an institution that shares no fulfillment network with the caller's.",
    ),
    ErrorCode(
        "60226",
        "404",
        'Alma\'s "Fulfillment network copied user not found.": a walk-in patron who does not exist or whom this '
        "desk may not serve (restricted group, inactive, no searchable identifier, outside the networks).",
    ),
    ErrorCode("60227", "400", 'Alma\'s "Linked account for user already exists." (refresh it with `op=refresh`)'),
    ErrorCode("60229", "400", 'Alma\'s "Failed to find linked account for user.": the user is not a linked account.'),
    ErrorCode(
        "60230",
        "400",
        'Alma\'s "Failed to refresh linked user.": the source patron can no longer be served through the network, '
        "or the account is a peer joined by consortial id (never refreshed).",
    ),
    ErrorCode("60232", "400", 'Alma\'s "Failed to link user due to user group empty." (the applied rule names none)'),
    ErrorCode("401153", "400", "Lending an item that is already on loan in the institution."),
    # configuration
    ErrorCode(
        "402469",
        "400",
        'Alma\'s "The library code is not valid." (unknown, or of another institution); for the library of an '
        "electronic resource also a library outside the caller's role scope, or a portfolio's own library while "
        "its electronic collection has one.",
    ),
    ErrorCode("90101", "400", 'Alma\'s "Table does not exist." (code tables)'),
    # electronic resources (Alma's codes of the electronic and bibs APIs)
    ErrorCode(
        "60121", "404", 'Alma\'s "The collection ID is not valid.": an unknown electronic or Community Zone collection.'
    ),
    ErrorCode(
        "60122",
        "400, 404",
        'Alma\'s "The Service ID was not found." 404: an unknown service of the collection. 400: a portfolio body '
        "names a service that is not its collection's, or a collection without a service.",
    ),
    ErrorCode(
        "60123", "404", 'Alma\'s "Failed to find the Portfolio ID.": an unknown portfolio (or Community Zone one).'
    ),
    ErrorCode("60126", "400", "The name of an electronic collection is missing."),
    ErrorCode("60127", "400", "The type of an electronic collection or service is not one of its codes."),
    ErrorCode(
        "60151",
        "400",
        "The electronic collection a portfolio is put in (Add Local Portfolio, attach) is unknown, or not in the "
        "caller's role scope.",
    ),
    ErrorCode("60159", "400", 'Alma\'s "The MMS ID is required." (a portfolio added to a service)'),
    ErrorCode("60161", "400", "Alma's \"The portfolio availability code is not valid.\" (also a service's status)"),
    ErrorCode(
        "60289",
        "400",
        'Alma\'s "The delete is blocked": a collection that still has services, a service with portfolios.',
    ),
    ErrorCode("402203", "404", 'Alma\'s "Input parameters mmsId is not valid.": an unknown bibliographic record.'),
    ErrorCode(
        "402458",
        "400",
        "A set that cannot be created: no name, not an itemized set of electronic portfolios, too many members, "
        "or members that are not portfolios of the institution.",
    ),
    ErrorCode("402459", "404", "An unknown set (or a set of another institution)."),
    ErrorCode(
        "401871",
        "400, 404",
        'Alma\'s "Failed to find the Profile ID." 404: an unknown import profile (or one of another institution). '
        "400: an import job whose `profile_id` parameter names no import profile of the institution.",
    ),
    ErrorCode(
        "ATTACH_CONFIRM",
        "409",
        "Attaching a standalone portfolio to an electronic collection of another library: the message is the "
        "warning of SPEC ER-9; send the request again with `confirm` true.",
    ),
    # jobs
    ErrorCode("402215", "400", 'Alma\'s "Job ID format is not valid."'),
    ErrorCode(
        "402216",
        "400, 404",
        'Alma\'s "Job ID is not valid." (unknown, or not visible to the caller); 404 on '
        "`/api/v1/jobs/{id}/schedule` (also for a malformed id).",
    ),
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
