"""The Support Center demo's cases as data: stories (comments, status and sharing changes), routine
cases, licences, partner views and the pending case-sharing request. `demo.py` builds them."""

from __future__ import annotations

from dataclasses import dataclass

from consortia.platform.setup import OPERATOR_ID
from consortia.support.models import (
    CLOSED,
    IN_PROGRESS,
    NEW,
    PENDING_CUSTOMER,
    SHARE_CONSORTIUM,
    SHARE_INSTITUTION,
    SOLVED,
)

# What a step of a case's story does: (who, action, value); an attachment's value names a DEMO_FILES entry.
COMMENT, STATUS, SHARE, ATTACH = "comment", "status", "share", "attach"
OPERATOR = OPERATOR_ID
SHARED, MINE = SHARE_CONSORTIUM, SHARE_INSTITUTION


DEMO_FILES = {
    "invoice-export-2024-06-03.xml": (
        "application/xml",
        '<?xml version="1.0" encoding="UTF-8"?>\n<invoices>\n'
        '  <invoice number="EAST-2024-0117"><vendor>Harrowgate Books</vendor><total>412.50</total>'
        "<currency></currency><bank_account>GB29 NWBK 6016 1331 9268 19</bank_account></invoice>\n"
        '  <invoice number="EAST-2024-0118"><vendor>Kestrel Media</vendor><total>1280.00</total>'
        "<currency>USD</currency><bank_account>US12 3456 7890 1234</bank_account></invoice>\n</invoices>\n",
    ),
}


@dataclass(frozen=True)
class DemoCase:
    """A case as the demo tells it: opened by `opener` with `share_with`, then `steps` in order."""

    opener: str
    subject: str
    issue_type: str
    product: str
    priority: str
    share_with: str
    description: str
    steps: tuple[tuple[str, str, str], ...] = ()


# --- cases with a story (comments, status changes, sharing changes) --------------------------------

STORY_CASES = (
    DemoCase(
        "east-standard",
        "Course reserves list shows withdrawn items",
        "Data",
        "Leganto",
        "Medium",
        SHARED,
        "Reading lists still show items that were withdrawn in Alma last month, for example the 2019 "
        "edition of Principles of Economics (barcode EAST00412) on the list ECON-101 Fall. Students request "
        "them and the request fails.\n\nExpected: withdrawn items are hidden from the list or flagged.",
        (
            (
                OPERATOR,
                COMMENT,
                "Thank you for the report. We can reproduce it with ECON-101 and are checking "
                "whether the nightly reading list sync honours the withdrawn status.",
            ),
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                "east-standard",
                COMMENT,
                "WEST and NORTH see the same on their lists; the case is shared with the "
                "consortium so that they can follow it.",
            ),
        ),
    ),
    DemoCase(
        "east-consortia",
        "Primo VE search times out for network zone records",
        "Technical",
        "Primo VE",
        "High",
        SHARED,
        "Searches limited to the NLC network scope time out after 30 seconds for about one query in ten "
        "since Monday (for example: climate adaptation policy). Searches of the local catalogue are fine. "
        "Most time-outs happen between 09:00 and 10:00 and between 14:00 and 15:00.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "Our network team sees slow answers from the network zone index at those "
                "times and is adding capacity. We will update the case when the change is live.",
            ),
        ),
    ),
    DemoCase(
        "east-basic",
        "Cannot reset my password for the Support Center",
        "Access",
        "Support Center",
        "Low",
        MINE,
        "The reset link in the email says it has expired, although I clicked it within a minute.",
        (
            (
                OPERATOR,
                COMMENT,
                "Your mail filter opens every link to check it, which uses the one-time link. "
                "We have sent a new link that can be opened twice; please try again.",
            ),
            (OPERATOR, STATUS, IN_PROGRESS),
            (OPERATOR, STATUS, SOLVED),
            ("east-basic", COMMENT, "It works now, thank you."),
            ("east-basic", STATUS, CLOSED),
        ),
    ),
    DemoCase(
        "east-standard",
        "Overdue notices are sent twice to faculty",
        "Configuration",
        "Alma",
        "High",
        MINE,
        "Since we changed the Overdue and Lost Loan profile on Monday, faculty receive every overdue notice "
        "twice, a minute apart; patrons of the other user groups receive one. Example: east-patron-10.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "Two notification rules seem to match the FACULTY user group. Could you send "
                "us a screenshot of the Overdue and Lost Loan Notification Rules?",
            ),
            (OPERATOR, STATUS, PENDING_CUSTOMER),
        ),
    ),
    DemoCase(
        "east-standard",
        "Invoice export to the finance system drops currency codes",
        "Data",
        "Alma",
        "Medium",
        MINE,
        "The nightly invoice export writes an empty currency element for invoices in GBP and EUR; invoices "
        "in USD are fine. The finance system rejects the whole file.",
        (
            ("east-standard", ATTACH, "invoice-export-2024-06-03.xml"),
            ("east-standard", SHARE, SHARED),
            ("east-standard", SHARE, MINE),
            (
                "east-standard",
                COMMENT,
                "Shared by mistake and set back to My Institution: the export file attached "
                "here contains vendor bank details.",
            ),
            (OPERATOR, STATUS, IN_PROGRESS),
        ),
    ),
    DemoCase(
        "east-consortia",
        "Link resolver sends users to an expired publisher platform",
        "Technical",
        "Alma",
        "Medium",
        SHARED,
        "Full-text links for the Journal of Applied Ecology open the publisher's old platform, which answers "
        "404. The portfolio's URL in the community zone collection looks right.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "Fixed in the Community Zone: the parser parameters of the collection were "
                "updated. Links work again for every member.",
            ),
            (OPERATOR, STATUS, SOLVED),
            ("east-consortia", STATUS, CLOSED),
        ),
    ),
    DemoCase(
        "west-consortia",
        "Network zone records overwritten by a local normalization rule",
        "Data",
        "Alma",
        "Critical",
        SHARED,
        "Our normalization rule Clean 590 ran against network zone records instead of our local extensions: "
        "about 1,200 shared bibliographic records lost their 590 notes. The other members see the damage too.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "We are restoring the records from yesterday's network zone snapshot and "
                "expect to finish tomorrow morning.",
            ),
            ("west-consortia", COMMENT, "Thank you. We have disabled the rule until the restore is done."),
        ),
    ),
    DemoCase(
        "west-consortia",
        "Fulfillment network requests to EAST stay In transit",
        "Technical",
        "Alma",
        "High",
        MINE,
        "Requests our patrons place for items of EAST_MAIN stay In transit after EAST scans them at the desk; "
        "our hold shelf never receives them. Example: the request of west-patron-04.",
        (
            (
                "west-consortia",
                COMMENT,
                "EAST sees the same from their side, so we share the case with the consortium.",
            ),
            ("west-consortia", SHARE, SHARED),
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "The transit rule of the NLC Fulfillment Network points to the closed hold "
                "shelf of WEST_SCI. Could you check the pickup locations of your libraries?",
            ),
            (OPERATOR, STATUS, PENDING_CUSTOMER),
        ),
    ),
    DemoCase(
        "west-consortia",
        "SAML sign-in fails for staff with long user names",
        "Access",
        "Alma",
        "High",
        MINE,
        "Staff whose user name has more than 32 characters get Invalid assertion at sign-in since our "
        "identity provider's certificate was renewed on Friday.",
    ),
    DemoCase(
        "west-consortia",
        "Reading list import drops DOI links",
        "Technical",
        "Leganto",
        "Low",
        MINE,
        "Importing a reading list from a RIS file keeps the titles but drops the DOI links of journal articles.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "The RIS file uses the DO tag with a URL prefix; the import expects a bare DOI. "
                "The next release accepts both.",
            ),
            (OPERATOR, STATUS, SOLVED),
        ),
    ),
    DemoCase(
        "west-consortia",
        "Consortial loans report shows zero rows",
        "Data",
        "Alma Analytics",
        "Medium",
        SHARED,
        "The shared report NLC consortial loans by month returns no rows since the subject area was renamed.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "The shared report refers to the old subject area; a corrected copy is in the "
                "shared folder /NLC/Reports.",
            ),
            (OPERATOR, STATUS, SOLVED),
        ),
    ),
    DemoCase(
        "west-consortia",
        "Change the fiscal period close date",
        "Configuration",
        "Alma",
        "Low",
        MINE,
        "Please move the close of our fiscal period from 30 June to 31 July this year only.",
        ((OPERATOR, STATUS, IN_PROGRESS), (OPERATOR, STATUS, SOLVED), ("west-consortia", STATUS, CLOSED)),
    ),
    DemoCase(
        "north-standard",
        "Resource sharing partner record for WEST has the wrong ISO address",
        "Configuration",
        "Alma",
        "Medium",
        SHARED,
        "Borrowing requests to WEST fail with Partner not reachable; the ISO ILL address in the partner "
        "record is the one WEST used before its move to the new server.",
    ),
    DemoCase(
        "north-standard",
        "Patron load rejects records with accented names",
        "Data",
        "Alma",
        "High",
        SHARED,
        "The nightly patron load from our student information system reports Invalid character for names "
        "such as Zoë or José and skips those records (43 in yesterday's file).",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "The file is sent in Latin-1 but the integration profile expects UTF-8. "
                "Either setting can change; we suggest the file.",
            ),
        ),
    ),
    DemoCase(
        "north-standard",
        "Closed-stack requests print on the wrong printer",
        "Configuration",
        "Alma",
        "Low",
        MINE,
        "Pick slips for closed-stack requests of NORTH_SCI print at the circulation desk of NORTH_MAIN.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (OPERATOR, COMMENT, "Which printer is set for the closed-stack pick-up location of NORTH_SCI?"),
            (OPERATOR, STATUS, PENDING_CUSTOMER),
        ),
    ),
    DemoCase(
        "north-standard",
        "Discovery shows No full text for open access journals",
        "Technical",
        "Primo VE",
        "Medium",
        MINE,
        "Open access journals activated from the community zone show No full text available in discovery, "
        "although the portfolios are active and the links work from Alma.",
    ),
    DemoCase(
        "south-standard",
        "Barcode scanner adds a trailing character at the circulation desk",
        "Technical",
        "Alma",
        "Medium",
        MINE,
        "Since the browser update, every scanned barcode at the SOUTH_MAIN desk ends with an extra character, "
        "so loans fail with Item not found.",
        (
            (OPERATOR, STATUS, IN_PROGRESS),
            (
                OPERATOR,
                COMMENT,
                "This is the scanner's suffix setting; the manufacturer's guide shows how to "
                "turn the suffix off. Does the problem remain after that?",
            ),
        ),
    ),
    DemoCase(
        "south-standard",
        "Course loader job fails on semicolons in instructor names",
        "Data",
        "Alma",
        "Medium",
        MINE,
        "The course loader job ends with errors for every course whose instructor field contains a semicolon.",
        ((OPERATOR, STATUS, IN_PROGRESS), (OPERATOR, STATUS, SOLVED)),
    ),
)

# --- routine cases: institution's opener, subject, issue type, product, shared, description --------
# Priorities and statuses follow the rotations below; the operator moves each case along its path.

ROUTINE_OPENERS = {
    "EAST": ("east-standard", "east-consortia"),
    "WEST": ("west-consortia",),
    "NORTH": ("north-standard",),
    "SOUTH": ("south-standard",),
}
ROUTINE_CASES = (
    ("EAST", "Import profile for vendor files skips the ISBN", "Data", "Alma", True,
     "Records loaded with the import profile for our approval plan vendor have no 020 field."),
    ("WEST", "Holds shelf report lists items already picked up", "Data", "Alma", True,
     "The daily holds shelf report still lists items that patrons collected the day before."),
    ("NORTH", "Borrowing requests cancelled without a reason", "Technical", "Alma", True,
     "About ten resource sharing borrowing requests a day are cancelled with no note and no rota change."),
    ("EAST", "Instructors are not linked to their courses after the course load", "Data", "Alma", True,
     "The course loader creates the courses, but the instructors' primary ids are not linked to them."),
    ("WEST", "Patron emails show the library name twice in the subject", "Configuration", "Alma", True,
     "Every patron letter has a subject like West Main Library - West Main Library: Your loans."),
    ("NORTH", "Call number browse starts at the wrong place for LC classes", "Technical", "Primo VE", True,
     "Browsing from QA76 starts at QA7; other classes are fine."),
    ("EAST", "Sign-in link in Primo VE loops back to the home page", "Access", "Primo VE", True,
     "Patrons who click Sign in come back to the home page, still signed out; it started after the last release."),
    ("WEST", "Network zone publishing to WorldCat stopped", "Technical", "Alma", True,
     "The publishing profile for WorldCat has not run since Friday; the job list shows no run at all."),
    ("NORTH", "Shared e-book collection missing from discovery", "Data", "Alma", True,
     "The electronic collection NLC Shared eBooks is active but none of its titles can be found in discovery."),
    ("EAST", "Digitization requests lose the page range", "Technical", "Alma", True,
     "Digitization requests from discovery arrive in Alma without the page range the patron typed."),
    ("WEST", "Resource type facet shows Unknown", "Technical", "Primo VE", True,
     "About a fifth of the results show Unknown in the resource type facet since the normalization update."),
    ("NORTH", "Due dates fall on a closed day of the science library", "Configuration", "Alma", True,
     "Loans from NORTH_SCI get due dates on Sundays, when the library is closed."),
    ("EAST", "Relevance ranking puts book reviews above the books", "Technical", "Primo VE", True,
     "A title search for a new book lists five reviews of it before the book itself."),
    ("WEST", "Fines not waived when a lost item is returned", "Configuration", "Alma", True,
     "When a patron returns an item declared lost, the lost item fine stays on the account."),
    ("NORTH", "Authority control task list grows every night", "Data", "Alma", True,
     "The authority control task list gains about 3,000 entries a night, mostly for the same headings."),
    ("EAST", "Renewal limit ignored for graduate students", "Configuration", "Alma", True,
     "Graduate students can renew more than the three times the terms of use allow."),
    ("WEST", "Shared vendor record edited by another member", "Data", "Alma", True,
     "The network vendor record for our e-book aggregator has a new address that none of us entered."),
    ("NORTH", "Staff roles lost after the patron load", "Access", "Alma", True,
     "Two staff users lost their roles after last night's patron load updated their records."),
    ("EAST", "Loans report in Analytics misses last week", "Data", "Alma Analytics", True,
     "Reports on the loans subject area show no loans since last Tuesday."),
    ("WEST", "Citation export drops the publisher", "Technical", "Leganto", True,
     "Exporting a reading list in APA style leaves out the publisher of every book."),
    ("NORTH", "Purchase requests stuck In review", "Technical", "Alma", True,
     "Purchase requests approved by the selector stay In review and never become orders."),
    ("EAST", "Portfolio activation job completed with errors", "Technical", "Alma", False,
     "The job that activated our new e-journal package ended Completed with Errors without a report."),
    ("WEST", "API key for the campus card system answers 401", "Access", "Alma", False,
     "The campus card system's API key stopped working on Monday; nobody changed it on our side."),
    ("NORTH", "Self-check machine cannot renew loans", "Technical", "Alma", False,
     "The self-check machine in NORTH_MAIN answers Renewal not allowed for every loan."),
    ("SOUTH", "Printing of fulfillment slips is very slow", "Technical", "Alma", False,
     "Pick slips take about two minutes to print at every desk since Tuesday."),
    ("SOUTH", "Patron purge job deleted users with active loans", "Data", "Alma", False,
     "The purge job removed 12 patrons who still had items on loan; the loans now show no borrower."),
)  # fmt: skip
ROUTINE_PRIORITIES = ("Medium", "Low", "High", "Medium", "Critical", "Low", "Medium", "High")
ROUTINE_STATUSES = (NEW, IN_PROGRESS, SOLVED, PENDING_CUSTOMER, IN_PROGRESS, CLOSED, NEW)
# The status changes that reach a status: the operator moves a case along, the opener closes it.
STATUS_PATHS = {
    NEW: (),
    IN_PROGRESS: (IN_PROGRESS,),
    PENDING_CUSTOMER: (IN_PROGRESS, PENDING_CUSTOMER),
    SOLVED: (IN_PROGRESS, SOLVED),
    CLOSED: (IN_PROGRESS, SOLVED, CLOSED),
}

# --- licences, partner views and the pending request --------------------------------------------------

LICENSED = ("east-consortia", "west-consortia")
# (viewer, subject of a partner's shared case they opened) — the access review's "last partner view".
PARTNER_VIEWS = (
    ("east-consortia", "Network zone records overwritten by a local normalization rule"),
    ("west-consortia", "Primo VE search times out for network zone records"),
)
SHARING_REQUEST = ("south-standard", "SCC", (("SOUTH", "south-standard"),))


def routine_cases() -> list[DemoCase]:
    """The routine cases as `DemoCase`s, with their rotations of opener, priority and status applied."""
    found = []
    seen: dict[str, int] = {}
    for index, (code, subject, issue_type, product, shared, description) in enumerate(ROUTINE_CASES):
        openers = ROUTINE_OPENERS[code]
        opener = openers[seen.get(code, 0) % len(openers)]
        seen[code] = seen.get(code, 0) + 1
        status = ROUTINE_STATUSES[index % len(ROUTINE_STATUSES)]
        steps = tuple((opener if step == CLOSED else OPERATOR, STATUS, step) for step in STATUS_PATHS[status])
        found.append(
            DemoCase(
                opener,
                subject,
                issue_type,
                product,
                ROUTINE_PRIORITIES[index % len(ROUTINE_PRIORITIES)],
                SHARED if shared else MINE,
                description,
                steps,
            )
        )
    return found


def demo_cases() -> list[DemoCase]:
    """Every demo case in the order it is opened."""
    return [*STORY_CASES, *routine_cases()]
