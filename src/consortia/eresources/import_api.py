"""`POST /api/v1/eresources/imports?profile_id=...`: upload a MARC file and start its import (ER-22).

Multipart with the field `file` (binary MARC21 or MARCXML, detected). The answer is the job instance
(202), polled at its `link`. Above CONSORTIA_MAX_UPLOAD_BYTES: 413; an empty or non-MARC file: 400; in
both cases nothing is kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.almaws.jobs import instance_json
from consortia.eresources import import_profiles, imports
from consortia.http.answers import respond
from consortia.http.deps import DbSession, declares
from consortia.jobs import service as jobs

router = APIRouter(prefix="/api/v1/eresources", tags=["Electronic resources"])


def _not_too_large(request: Request) -> None:
    """Refuse a body announced larger than the limit before it is read (413)."""
    length = request.headers.get("content-length", "")
    if length.isdecimal() and int(length) > imports.max_upload_bytes() + 64 * 1024:
        raise imports.PayloadTooLarge(
            f"file: the file is larger than the {imports.max_upload_bytes()} bytes an import takes."
        )


@router.post("/imports", summary="Import a MARC file with an import profile", status_code=202)
def post_import(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.IMPORT_RUN))],
    _size: Annotated[None, Depends(_not_too_large)],
    profile_id: Annotated[str, Query(min_length=1, max_length=20)],
    file: Annotated[UploadFile, File(description="Binary MARC21 or MARCXML.")],
) -> Response:
    profile = import_profiles.access_profile(session, identity, profile_id, P.IMPORT_RUN)
    instance = imports.submit_import(session, identity, profile, file.filename or "", file.file)
    names = jobs.submitter_names(session, [instance])
    return respond(request, instance_json(request, instance, names), root="job_instance", status=202)
