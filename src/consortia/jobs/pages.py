"""Monitor Jobs: the list of job instances, one instance's page, the "Run a job" forms and, for the
jobs that may run on a schedule, their schedule forms (P-7).

While an instance is queued or running, its rows and its status block refresh themselves with htmx
(a partial GET every few seconds that stops once the status is final).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from consortia.access.identity import Identity
from consortia.access.permissions import Permission as P
from consortia.errors import DomainError
from consortia.http.deps import DbSession, page_declares
from consortia.jobs import schedules, service
from consortia.jobs.models import FINAL_STATUSES, RUN_TYPE_DESC, SCHEDULED, STATUS_DESC, JobInstance
from consortia.jobs.registry import EVENT_TYPES, job_kind
from consortia.web.templating import redirect, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 25
EVENTS_SHOWN = 200
PARAM_PREFIX = "param_"


def _rows(session: Session, instances: list[JobInstance]) -> list[dict[str, Any]]:
    names = service.submitter_names(session, instances)
    codes = service.institution_codes(session, instances)
    return [
        {
            "id": i.id,
            "job_code": i.job_code,
            "name": service.job_name(i),
            "institution": codes.get(i.institution_id or 0, ""),
            "status": i.status,
            "status_desc": STATUS_DESC.get(i.status, i.status),
            "progress": i.progress,
            "submitted_by": names.get(i.submitted_by_id or 0, i.submitted_by),
            "submit_time": i.submit_time,
            "active": i.status not in FINAL_STATUSES,
            "run_type": RUN_TYPE_DESC.get(i.run_type, i.run_type),
        }
        for i in instances
    ]


def _list_context(session: Session, identity: Identity, status: str, offset: int) -> dict[str, Any]:
    service.check_may_monitor(identity)
    instances, total = service.list_instances(session, identity, status=status or None, limit=PAGE_SIZE, offset=offset)
    rows = _rows(session, instances)
    return {
        "rows": rows,
        "total": total,
        "status": status,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "statuses": STATUS_DESC,
        "refresh": any(r["active"] for r in rows),
        "show_institution": identity.is_operator,
    }


Status = Annotated[str, Query(max_length=40, pattern=r"^[A-Z_]*$")]
InstanceId = Annotated[int, Path(ge=1, le=service.MAX_INSTANCE_ID)]


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_READ))],
    status: Status = "",
    offset: Annotated[int, Query(ge=0, le=service.MAX_OFFSET)] = 0,
    fragment: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    context = _list_context(session, identity, status, offset)
    if fragment == "table":
        return render(request, "jobs/_instances.html", context)
    return render(request, "jobs/list.html", _with_forms(session, identity, context, ""))


def _with_forms(session: Session, identity: Identity, context: dict[str, Any], error: str) -> dict[str, Any]:
    """The list's context with the run and schedule forms of the jobs this person may run here."""
    context["runnable"] = [r for r in service.runnable_kinds(session, identity) if r.allowed]
    context["needs_institution"] = identity.is_operator and identity.acting_institution_id is None
    context["error"] = error
    found = schedules.schedules_here(session, identity)
    context["schedules"] = {
        code: {
            "schedule": schedule,
            "desc": schedules.schedule_value(schedule)[1],
            "weekday": schedules.WEEKDAYS[schedule.weekday] if schedule.weekday is not None else "",
            "history": schedules.schedule_history(session, code, schedule.institution_id, limit=5),
        }
        for code, schedule in found.items()
    }
    context["frequencies"] = schedules.FREQUENCIES
    context["weekdays"] = schedules.WEEKDAYS
    return context


async def form_data(request: Request) -> FormData:
    return await request.form()


@router.post("/jobs/run")
def run_job_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_RUN))],
    form: Annotated[FormData, Depends(form_data)],
) -> Response:
    job_id = str(form.get("job_id") or "")[:40]
    parameters = _form_parameters(form)
    try:
        instance = service.run_job(session, identity, job_id, parameters)
    except DomainError as exc:
        if exc.status >= 500:
            raise
        session.rollback()
        context = _with_forms(session, identity, _list_context(session, identity, "", 0), exc.message)
        return render(request, "jobs/list.html", context, status=exc.status)
    return redirect(f"/jobs/{instance.id}", f"Job no. {instance.id} submitted.")


def _form_parameters(form: FormData) -> dict[str, str]:
    return {
        key[len(PARAM_PREFIX) :]: str(value)[:1000]
        for key, value in form.items()
        if key.startswith(PARAM_PREFIX) and isinstance(value, str)
    }


JobId = Annotated[str, Path(max_length=40)]


@router.post("/jobs/{job_id}/schedule")
def schedule_job_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_RUN))],
    form: Annotated[FormData, Depends(form_data)],
    job_id: JobId,
) -> Response:
    """Set the job's schedule here (it will run as this person); `remove` removes it."""
    kind = schedules.access_schedulable_kind(identity, job_id)
    try:
        if form.get("remove"):
            schedules.remove_schedule(session, identity, kind)
            message = f"{kind.name} no longer runs on a schedule."
        else:
            timing = schedules.parse_timing(
                str(form.get("frequency") or "")[:20],
                str(form.get("time") or "")[:10],
                str(form.get("weekday") or "")[:20],
                str(form.get("day") or "")[:3] or None,
            )
            schedule = schedules.set_schedule(session, identity, kind, timing, _form_parameters(form))
            message = f"{kind.name}: {schedules.schedule_value(schedule)[1]}."
    except DomainError as exc:
        if exc.status >= 500:
            raise
        session.rollback()
        context = _with_forms(session, identity, _list_context(session, identity, "", 0), exc.message)
        return render(request, "jobs/list.html", context, status=exc.status)
    return redirect(f"/jobs#schedule-{kind.job_id}", message)


def _instance_context(session: Session, identity: Identity, instance_id: int) -> dict[str, Any]:
    instance = service.access_instance(session, identity, instance_id)
    kind = job_kind(instance.job_code)
    names = service.submitter_names(session, [instance])
    codes = service.institution_codes(session, [instance])
    related_url = (
        kind.related_page.format(id=instance.related_id)
        if kind is not None and kind.related_page and instance.related_id
        else None
    )
    events, events_total = service.instance_events(session, instance, limit=EVENTS_SHOWN)
    labels = {p.name: p.label for p in kind.parameters} if kind else {}
    return {
        "instance": instance,
        "kind": kind,
        "name": service.job_name(instance),
        "status_desc": STATUS_DESC.get(instance.status, instance.status),
        "run_type": "By its schedule" if instance.run_type == SCHEDULED else "By hand",
        "final": service.is_final(instance),
        "submitted_by": names.get(instance.submitted_by_id or 0, instance.submitted_by),
        "institution": codes.get(instance.institution_id or 0, ""),
        "counters": service.counter_rows(instance),
        "parameters": [(labels.get(k, k), v) for k, v in (instance.parameters or {}).items()],
        "related_url": related_url,
        "events": events,
        "events_total": events_total,
        "event_types": EVENT_TYPES,
    }


@router.get("/jobs/{instance_id}", response_class=HTMLResponse)
def job_instance_page(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_READ))],
    instance_id: InstanceId,
) -> Response:
    return render(request, "jobs/instance.html", _instance_context(session, identity, instance_id))


@router.get("/jobs/{instance_id}/status", response_class=HTMLResponse)
def job_instance_status(
    request: Request,
    session: DbSession,
    identity: Annotated[Identity, Depends(page_declares(P.JOB_READ))],
    instance_id: InstanceId,
) -> Response:
    """The status block alone (htmx polls it while the instance runs)."""
    return render(request, "jobs/_status.html", _instance_context(session, identity, instance_id))
