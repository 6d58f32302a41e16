"""Pages of sets of portfolios (ER-21) and of import profiles and imports (ER-22).

Sets: list, create (by pasting portfolio ids), a set's members and "Change Electronic Portfolio
Information" with its Library drop-down. Import profiles: list, create, edit, and the upload form; a run
redirects to the job's Monitor Jobs page, whose status and progress bar follow the job (htmx polling).
Routes parse the form and call the same verbs as the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.access.policy import InInstitution, allows
from consortia.eresources import import_profiles as profiles
from consortia.eresources import imports, sets
from consortia.eresources.import_models import PORTFOLIO_TYPES, PROFILE_TYPES
from consortia.eresources.models import ElectronicCollection
from consortia.eresources.portfolio_jobs import CHANGE_PORTFOLIO_INFORMATION
from consortia.http.deps import DbSession, page_declares
from consortia.jobs import service as jobs
from consortia.jobs.registry import job_kind
from consortia.platform.models import Library
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

SetReader = Annotated[Identity, Depends(page_declares(P.SET_READ))]
ProfileReader = Annotated[Identity, Depends(page_declares(P.IMPORT_PROFILE_READ))]
PAGE_SIZE = 50
# Choosers list their first choices; the page says when there are more and offers the name search (q).
SET_LIST = 200
PROFILE_COLLECTIONS = 500
CollectionName = Annotated[str, Query(max_length=200, description="Words of the collections' names.")]


def _libraries(session: DbSession, institution_id: int) -> list[Library]:
    return list(session.scalars(select(Library).where(Library.institution_id == institution_id).order_by(Library.code)))


# --- sets ---------------------------------------------------------------------------------------


@router.get("/eresources/sets", response_class=HTMLResponse)
def set_list(
    request: Request,
    session: DbSession,
    identity: SetReader,
    ids: Annotated[str, Query(max_length=20_000)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The sets of the institution: the first 200 (the page says when there are more; `q` narrows by name)."""
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = acting_institution(session, identity)
    rows, total = sets.list_sets(session, identity, institution, name=q.strip() or None, limit=SET_LIST, offset=0)
    return render(
        request,
        "eresources/sets.html",
        {
            "sets": rows,
            "total": total,
            "counts": sets.member_counts(session, [r.id for r in rows]),
            "ids": ids,
            "chooser": {"more": total > len(rows), "limit": SET_LIST, "q": q.strip()},
            "can_create": allows(identity, P.SET_MANAGE, InInstitution(institution.id)),
        },
    )


@router.post("/eresources/sets")
def set_create(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.SET_MANAGE))],
    name: Annotated[str, Form(max_length=200)],
    ids: Annotated[str, Form(max_length=2_000_000)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    institution = acting_institution(session, identity)
    row = sets.create_set(
        session, identity, institution, name=name, description=description, member_ids=sets.parse_ids(ids)
    )
    return redirect(f"/eresources/sets/{row.id}", f"The set {row.name} was created.")


@router.get("/eresources/sets/{set_id}", response_class=HTMLResponse)
def set_page(
    request: Request,
    session: DbSession,
    identity: SetReader,
    set_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    row = sets.access_set(session, identity, set_id)
    members, total = sets.members(session, row, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    kind = job_kind(CHANGE_PORTFOLIO_INFORMATION)
    assert kind is not None
    decision = kind.decide(identity, row.institution_id, {})
    return render(
        request,
        "eresources/set.html",
        {
            "set": row,
            "members": members,
            "total": total,
            "page": page,
            "has_next": page * PAGE_SIZE < total,
            "libraries": _libraries(session, row.institution_id),
            "may_run": decision.allowed,
            "run_reason": decision.reason,
            "kind": kind,
        },
    )


@router.post("/eresources/sets/{set_id}/change-information")
def set_change_information(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_RUN))],
    set_id: str,
    library: Annotated[str, Form(max_length=40)],
) -> Response:
    row = sets.access_set(session, identity, set_id)
    instance = jobs.run_job(
        session, identity, CHANGE_PORTFOLIO_INFORMATION, {"set_id": str(row.id), "library": library}
    )
    return redirect(
        f"/jobs/{instance.id}", f"Job {instance.id} (Change Electronic Portfolio Information) was submitted."
    )


# --- import profiles ------------------------------------------------------------------------------


def _profile_context(
    session: DbSession, identity: Identity, institution_id: int, *, q: str = "", current: int | None = None
) -> dict[str, object]:
    """The profile form's choices: the first collections by name (whose name has `q`), and the profile's own
    collection even when the list leaves it out."""
    condition = [ElectronicCollection.institution_id == institution_id]
    if q.strip():
        condition.append(func.lower(ElectronicCollection.public_name).contains(q.strip().lower(), autoescape=True))
    collections = list(
        session.scalars(
            select(ElectronicCollection)
            .where(*condition)
            .order_by(ElectronicCollection.public_name, ElectronicCollection.id)
            .limit(PROFILE_COLLECTIONS + 1)
        )
    )
    more = len(collections) > PROFILE_COLLECTIONS
    collections = collections[:PROFILE_COLLECTIONS]
    if current is not None and all(c.id != current for c in collections):
        own = session.get(ElectronicCollection, current)
        if own is not None and own.institution_id == institution_id:
            collections.insert(0, own)
    return {
        "profile_types": PROFILE_TYPES,
        "portfolio_types": PORTFOLIO_TYPES,
        "collections": collections,
        "chooser": {"more": more, "limit": PROFILE_COLLECTIONS, "q": q.strip()},
        "libraries": _libraries(session, institution_id),
        "can_manage": allows(identity, P.IMPORT_PROFILE_MANAGE, InInstitution(institution_id)),
        "can_run": allows(identity, P.IMPORT_RUN, InInstitution(institution_id)),
    }


@router.get("/eresources/import-profiles", response_class=HTMLResponse)
def profile_list(request: Request, session: DbSession, identity: ProfileReader, q: CollectionName = "") -> Response:
    if identity.is_operator and identity.acting_institution_id is None:
        return render(request, "users/choose_institution.html")
    institution = acting_institution(session, identity)
    rows = profiles.list_profiles(session, identity, institution)
    return render(
        request,
        "eresources/import_profiles.html",
        {"profiles": rows, **_profile_context(session, identity, institution.id, q=q)},
    )


def _change(
    name: str, type: str, portfolio_type: str, collection: str, tag: str, subfield: str, default_library: str
) -> profiles.ProfileChange:
    return profiles.ProfileChange(
        name=name,
        type=type,
        portfolio_type=portfolio_type,
        collection_id=collection,
        library_tag=tag,
        library_subfield=subfield,
        default_library=default_library,
    )


Short = Annotated[str, Form(max_length=40)]


@router.post("/eresources/import-profiles")
def profile_create(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.IMPORT_PROFILE_MANAGE))],
    name: Annotated[str, Form(max_length=200)],
    type: Short = "REPOSITORY",
    portfolio_type: Short = "STANDALONE",
    collection: Short = "",
    tag: Short = "",
    subfield: Short = "",
    default_library: Short = "",
) -> Response:
    institution = acting_institution(session, identity)
    row = profiles.create_profile(
        session, identity, institution, _change(name, type, portfolio_type, collection, tag, subfield, default_library)
    )
    return redirect(f"/eresources/import-profiles/{row.id}", f"The import profile {row.name} was created.")


@router.get("/eresources/import-profiles/{profile_id}", response_class=HTMLResponse)
def profile_page(
    request: Request, session: DbSession, identity: ProfileReader, profile_id: str, q: CollectionName = ""
) -> Response:
    row = profiles.access_profile(session, identity, profile_id)
    context = _profile_context(session, identity, row.institution_id, q=q, current=row.collection_id)
    return render(request, "eresources/import_profile.html", {"profile": row, **context})


@router.post("/eresources/import-profiles/{profile_id}")
def profile_update(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.IMPORT_PROFILE_MANAGE))],
    profile_id: str,
    name: Annotated[str, Form(max_length=200)],
    type: Short = "REPOSITORY",
    portfolio_type: Short = "STANDALONE",
    collection: Short = "",
    tag: Short = "",
    subfield: Short = "",
    default_library: Short = "",
) -> Response:
    row = profiles.access_profile(session, identity, profile_id, P.IMPORT_PROFILE_MANAGE)
    profiles.update_profile(
        session, identity, row, _change(name, type, portfolio_type, collection, tag, subfield, default_library)
    )
    return redirect(f"/eresources/import-profiles/{row.id}", "The import profile was saved.")


@router.post("/eresources/import-profiles/{profile_id}/import")
def profile_import(
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.IMPORT_RUN))],
    profile_id: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    row = profiles.access_profile(session, identity, profile_id, P.IMPORT_RUN)
    instance = imports.submit_import(session, identity, row, file.filename or "", file.file)
    return redirect(f"/jobs/{instance.id}", f"Job {instance.id} (Repository Import) is loading {file.filename}.")
