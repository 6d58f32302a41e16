"""`/api/v1/jobs/{job_id}/schedule`: a job's schedule in the institution the caller works in.

GET needs what monitoring jobs needs; PUT and DELETE need what running the job needs there (the kind's
own rule: 403 with the reason). A job id that is malformed, unknown or hidden from the caller answers
404 (402216). Bodies: `jobs.schemas.ScheduleIn`; a bad frequency, time, weekday or day answers 400
(40166411).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from consortia.access.identity import Identity, acting_institution
from consortia.access.permissions import Permission as P
from consortia.http.answers import respond
from consortia.http.deps import DbSession, declares
from consortia.jobs import schedules, service
from consortia.jobs.models import JobSchedule
from consortia.jobs.registry import JobKind
from consortia.jobs.schemas import ScheduleIn, schedule_json

router = APIRouter(prefix="/api/v1/jobs", tags=["Jobs"])

JobId = Annotated[str, Path(max_length=40, description="The job id, e.g. M1201.")]


def _answer(request: Request, kind: JobKind, schedule: JobSchedule | None) -> Response:
    link = (
        f"{str(request.base_url).rstrip('/')}/almaws/v1/conf/jobs/{kind.job_id}/instances/{schedule.last_run_instance_id}"
        if schedule is not None and schedule.last_run_instance_id is not None
        else None
    )
    version = schedule.version if schedule else 0
    return respond(request, schedule_json(kind, schedule, link), root="schedule", headers={"ETag": f'"{version}"'})


@router.get("/{job_id}/schedule", summary="A job's schedule here")
def get_schedule(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    job_id: JobId,
) -> Response:
    service.check_may_monitor(identity)
    kind = schedules.access_schedulable_kind(identity, job_id)
    institution = acting_institution(session, identity)
    return _answer(request, kind, schedules.find_schedule(session, institution.id, kind.job_id))


@router.put("/{job_id}/schedule", summary="Set a job's schedule here (it runs as the caller)")
def put_schedule(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_RUN))],
    job_id: JobId,
    body: ScheduleIn,
) -> Response:
    kind = schedules.access_schedulable_kind(identity, job_id)
    timing = schedules.parse_timing(body.frequency, body.time, body.weekday, body.day)
    schedule = schedules.set_schedule(session, identity, kind, timing, body.parameters, version=body.version)
    return _answer(request, kind, schedule)


@router.delete("/{job_id}/schedule", status_code=204, summary="Remove a job's schedule here")
def delete_schedule(
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_RUN))],
    job_id: JobId,
) -> Response:
    kind = schedules.access_schedulable_kind(identity, job_id)
    schedules.remove_schedule(session, identity, kind)
    return Response(status_code=204)
