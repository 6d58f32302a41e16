"""`/almaws/v1/conf/jobs`: the job catalogue, running a job, and its instances (Alma notes §4.3).

Translation only: the verbs are in consortia.jobs.service. Run bodies are accepted as JSON
(`{"parameter": [{"name": {"value": ...}, "value": ...}]}`) or XML (`<job><parameters><parameter>
<name>..</name><value>..</value></parameter></parameters></job>`); `{}` and `<job/>` run a job without
parameters. The answer is the job with `additional_info` whose link ends `/instances/{id}` (in XML the
link is an attribute, as almapiwrapper reads it).

Who may do what: the catalogue is visible to the people who monitor jobs (staff, the operator);
running a job needs the kind's own permission where it runs — a visible job the caller may not run
answers 403 with the reason, and a kind hidden from the caller answers 402216 like an unknown job id.
Instances of another institution answer 404, exactly like unknown ones (R-3).

Schedules (`jobs.schedules`): a job answers its schedule in the caller's institution as `schedule`
{value: DAILY|WEEKLY|MONTHLY|NOT_SCHEDULED, desc: "Every day at 02:00 (UTC)"} with `next_run`; the
catalogue's `type` filter gives every job for MANUAL (each may be run by hand), the scheduled ones for
SCHEDULED, none for OTHER. An instance's `job_info.type` says how it came to be: MANUAL or SCHEDULED.
Setting a schedule is `/api/v1/jobs/{job_id}/schedule` (`jobs.api`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import BadRequest
from consortia.formats import alma_date, alma_datetime, coded, parse_alma_date
from consortia.http.answers import Limit, Offset, envelope, respond
from consortia.http.deps import DbSession, declares
from consortia.jobs import schedules, service
from consortia.jobs.models import (
    COMPLETED_FAILED,
    COMPLETED_SUCCESS,
    FAILED,
    MANUAL,
    RUN_TYPE_DESC,
    SCHEDULED,
    STATUS_DESC,
    JobEvent,
    JobInstance,
    JobSchedule,
)
from consortia.jobs.registry import EVENT_TYPES, JobKind, job_kind

router = APIRouter(prefix="/almaws/v1/conf/jobs", tags=["Jobs"])

MAX_BODY = 1_000_000
JobId = Annotated[str, Path(max_length=40, description="The job id, e.g. M1001.")]
InstanceId = Annotated[int, Path(ge=1, le=service.MAX_INSTANCE_ID, description="The job instance id.")]
RUN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "parameter": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "object", "properties": {"value": {"type": "string"}}},
                                    "value": {"type": "string"},
                                },
                            },
                        }
                    },
                }
            },
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def job_link(request: Request, job_id: str) -> str:
    return f"{_base(request)}/almaws/v1/conf/jobs/{job_id}"


def instance_link(request: Request, instance: JobInstance) -> str:
    return f"{job_link(request, instance.job_code)}/instances/{instance.id}"


def job_json(
    request: Request,
    kind: JobKind,
    parameters: Mapping[str, str] | None = None,
    schedule: JobSchedule | None = None,
) -> dict[str, Any]:
    """The job (Alma's shape); `schedule` is its schedule in the caller's institution (`schedule` and
    `next_run`). Every kind can be run by hand, so `type` stays MANUAL."""
    given = parameters or {}
    body: dict[str, Any] = {
        "id": kind.job_id,
        "name": kind.name,
        "description": kind.description,
        "type": coded("MANUAL", "Manual"),
        "category": coded(kind.category, kind.category_desc),
        "content": coded(kind.content, kind.content_desc or None),
        "schedule": coded(*schedules.schedule_value(schedule)),
        "creator": "System",
        "parameter": [{"name": coded(p.name, p.label), "value": given.get(p.name, "")} for p in kind.parameters],
        "link": job_link(request, kind.job_id),
    }
    if schedule is not None and schedule.next_run_at is not None:
        body["next_run"] = alma_datetime(schedule.next_run_at)
    return body


def _alerts(instance: JobInstance) -> list[dict[str, Any]]:
    if instance.status == COMPLETED_SUCCESS:
        return [coded("alert_general_success", "The job completed successfully.")]
    if instance.status == COMPLETED_FAILED:
        return [coded("alert_general_error", "The job completed with errors; see the events.")]
    if instance.status == FAILED:
        return [coded("alert_general_failure", "The job failed; see the report.")]
    return []


def instance_json(request: Request, instance: JobInstance, names: Mapping[int, str]) -> dict[str, Any]:
    kind = job_kind(instance.job_code)
    name = kind.name if kind else instance.job_code
    submitter = names.get(instance.submitted_by_id or 0, instance.submitted_by)
    body: dict[str, Any] = {
        "id": str(instance.id),
        "external_id": "",
        "name": name,
        "link": instance_link(request, instance),
        "submitted_by": coded(instance.submitted_by, submitter),
        "submit_time": alma_datetime(instance.submit_time),
        "start_time": alma_datetime(instance.start_time),
        "end_time": alma_datetime(instance.end_time),
        "progress": instance.progress,
        "status": coded(instance.status, STATUS_DESC.get(instance.status, instance.status)),
        "status_date": alma_date(service.status_date(instance).date()),
        "counter": [
            {"type": coded(definition.code, definition.label), "value": str(value)}
            for definition, value in service.counter_rows(instance)
        ],
        "alert": _alerts(instance),
        "report": instance.report,
        "parameter": [
            {"name": coded(key, None), "value": str(value)} for key, value in (instance.parameters or {}).items()
        ],
        "job_info": {
            "id": instance.job_code,
            "name": name,
            "description": kind.description if kind else "",
            "type": coded(instance.run_type, RUN_TYPE_DESC.get(instance.run_type, instance.run_type)),
            "category": coded(kind.category, kind.category_desc) if kind else coded("", None),
            "link": job_link(request, instance.job_code),
        },
    }
    return body


def event_json(event: JobEvent) -> dict[str, Any]:
    return {
        "type": event.type,
        "type_desc": EVENT_TYPES.get(event.type, event.type),
        "desc": event.description,
        "record": event.record,
        "time": alma_datetime(event.at),
    }


# --- reading the run body ----------------------------------------------------------------------


async def raw_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise BadRequest("The request body is too large.", "40166411")
    return body


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_run_parameters(body: bytes, content_type: str) -> dict[str, str]:
    """The parameters of a run request, from Alma's JSON or XML job body (an empty body: none)."""
    text = body.strip()
    if not text:
        return {}
    if text.startswith(b"<") or "xml" in content_type.lower():
        return _xml_parameters(text)
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON or XML.", "40166411") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a job object.", "40166411")
    entries: Any = data.get("parameter")
    if entries is None and isinstance(data.get("parameters"), dict):
        entries = data["parameters"].get("parameter")
    if entries is None:
        return {}
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise BadRequest("parameter must be a list of {name, value}.", "40166411")
    found: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadRequest("Each parameter must be an object with name and value.", "40166411")
        name = entry.get("name")
        if isinstance(name, dict):
            name = name.get("value")
        value = entry.get("value")
        if isinstance(value, dict):
            if "value" not in value:
                raise BadRequest(f"The value of parameter {name} must be text.", "40166411")
            value = value["value"]
        if not isinstance(name, str) or not name.strip():
            raise BadRequest("Each parameter needs a name.", "40166411")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise BadRequest(f"The value of parameter {name} must be text.", "40166411")
        found[name.strip()] = "" if value is None else str(value)
    return found


def _xml_parameters(text: bytes) -> dict[str, str]:
    if b"<!doctype" in text.lower() or b"<!entity" in text.lower():
        raise BadRequest("Document type declarations are not accepted.", "40166411")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD (refused above), so no entities; size is capped
    except ET.ParseError:
        raise BadRequest("The request body is not well-formed XML.", "40166411") from None
    found: dict[str, str] = {}
    for element in root.iter():
        if _local(element.tag) != "parameter":
            continue
        name = value = None
        for child in element:
            if _local(child.tag) == "name":
                name = (child.text or "").strip()
            elif _local(child.tag) == "value":
                value = child.text or ""
        if not name:
            raise BadRequest("Each parameter needs a name.", "40166411")
        found[name] = value or ""
    return found


# --- routes ------------------------------------------------------------------------------------


@router.get("", summary="The jobs that can be run")
def list_jobs(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    limit: Limit = 10,
    offset: Offset = 0,
    category: Annotated[str | None, Query(max_length=60)] = None,
    job_type: Annotated[
        str | None, Query(alias="type", max_length=20, description="MANUAL, SCHEDULED or OTHER.")
    ] = None,
) -> Response:
    """`type`: MANUAL lists every job (each can be run by hand), SCHEDULED the jobs with a schedule in
    the caller's institution, OTHER none."""
    service.check_may_monitor(identity)
    kinds = service.visible_kinds(identity)
    if category:
        kinds = [k for k in kinds if k.category.upper() == category.strip().upper()]
    scheduled = {
        code: schedule
        for code, schedule in schedules.schedules_here(session, identity).items()
        if schedule.next_run_at is not None
    }
    wanted = job_type.strip().upper() if job_type else None
    if wanted == SCHEDULED:
        kinds = [k for k in kinds if k.job_id in scheduled]
    elif wanted is not None and wanted != MANUAL:
        kinds = []
    items = [job_json(request, kind, schedule=scheduled.get(kind.job_id)) for kind in kinds[offset : offset + limit]]
    return respond(request, envelope("job", items, len(kinds)), root="job")


@router.get("/{job_id}", summary="One job")
def get_job(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    job_id: JobId,
) -> Response:
    service.check_may_monitor(identity)
    kind = service.access_kind(identity, job_id)
    schedule = schedules.find_schedule(session, identity.acting_institution_id, kind.job_id)
    return respond(request, job_json(request, kind, schedule=schedule), root="job")


@router.post("/{job_id}", summary="Run a job (op=run)", openapi_extra=RUN_BODY)
def run_job(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_RUN))],
    body: Annotated[bytes, Depends(raw_body)],
    job_id: JobId,
    op: Annotated[str | None, Query(max_length=40, description="run")] = None,
) -> Response:
    if not op:
        raise BadRequest("The operation (op) is missing.", "402220")
    if op.strip().lower() != "run":
        raise BadRequest(f"The operation {op} is not supported.", "402221")
    kind = service.access_kind(identity, job_id)
    parameters = parse_run_parameters(body, request.headers.get("content-type", ""))
    instance = service.submit(session, identity, kind, parameters)
    schedule = schedules.find_schedule(session, instance.institution_id, kind.job_id)
    answer = job_json(request, kind, instance.parameters, schedule)
    answer["additional_info"] = {
        "value": f"Job no. {instance.id} triggered on {alma_datetime(instance.submit_time)}",
        "link": instance_link(request, instance),
    }
    return respond(request, answer, root="job")


def _instances(
    request: Request,
    session: Session,
    identity: Identity,
    job_id: str,
    limit: int,
    offset: int,
    status: str | None,
    submit_date_from: str | None,
    submit_date_to: str | None,
) -> Response:
    job_code = None if job_id.strip().upper() == "ALL" else service.access_kind(identity, job_id).job_id
    rows, total = service.list_instances(
        session,
        identity,
        job_code=job_code,
        status=status.strip().upper() if status else None,
        submitted_from=parse_alma_date(submit_date_from, "submit_date_from"),
        submitted_to=parse_alma_date(submit_date_to, "submit_date_to"),
        limit=limit,
        offset=offset,
    )
    names = service.submitter_names(session, rows)
    items = [instance_json(request, row, names) for row in rows]
    return respond(request, envelope("job_instance", items, total), root="job_instance")


@router.get("/{job_id}/instances", summary="The instances of a job (ALL: of every job)")
def list_job_instances(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    job_id: JobId,
    limit: Limit = 10,
    offset: Offset = 0,
    status: Annotated[str | None, Query(max_length=40)] = None,
    submit_date_from: Annotated[str | None, Query(max_length=20)] = None,
    submit_date_to: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    service.check_may_monitor(identity)
    return _instances(request, session, identity, job_id, limit, offset, status, submit_date_from, submit_date_to)


@router.get("/{job_id}/instances/{instance_id}", summary="One job instance")
def get_job_instance(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    job_id: JobId,
    instance_id: InstanceId,
) -> Response:
    instance = service.access_instance(session, identity, instance_id, job_id)
    names = service.submitter_names(session, [instance])
    return respond(request, instance_json(request, instance, names), root="job_instance")


@router.get("/{job_id}/instances/{instance_id}/events", summary="The events (per-record notes) of an instance")
def get_job_instance_events(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(declares(P.JOB_READ))],
    job_id: JobId,
    instance_id: InstanceId,
    limit: Limit = 10,
    offset: Offset = 0,
) -> Response:
    instance = service.access_instance(session, identity, instance_id, job_id)
    events, total = service.instance_events(session, instance, limit=limit, offset=offset)
    return respond(request, envelope("event", [event_json(e) for e in events], total), root="event")
