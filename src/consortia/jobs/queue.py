"""The queue adapter: how a job instance id gets from the transaction that created it to a runner.

The queue only delivers ids; the database keeps the truth (status, checkpoint, lease: see
`runner`). Two implementations of one small interface, chosen by `CONSORTIA_QUEUE_URL`:

- `sqlite:///path/queue.db` (the default) or `redis://host:6379/0`: `HueyQueue`. A Redis URL may name
  its queue (`redis://host:6379/0?queue=NAME`, default `consortia`) so that several deployments or test
  runs share one Redis without taking each other's jobs. With SQLite the
  server consumes the queue itself in threads (`start_embedded`, no signal handlers); with Redis the
  server only produces, and `consortia worker` processes consume (`run_worker`, signals handled).
- `memory://`: `ImmediateQueue` runs each job synchronously in the process that committed it, with
  sessions bound like the committing one (tests; no worker needed).

Ids are handed over only after the creating transaction commits (`enqueue_after_commit`): a
rolled-back submit enqueues nothing. A sweeper (`recover_expired`) hands over again the instances
whose runner died (RUNNING with an expired lease) and those that never reached the queue (QUEUED for
more than a minute); it runs once at start-up and periodically in every consumer, and after it the
periodic tasks handed over with `add_periodic` (the due schedules' tick, `schedules.run_due_schedules`,
handed over at assembly: it submits through `service`, which stands above this module).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from consortia.config import Settings, get_settings
from consortia.db import get_database, init_database, utcnow
from consortia.jobs.models import FAILED, QUEUED, RUNNING, JobInstance
from consortia.jobs.runner import MAX_ATTEMPTS, SessionFactory, run_instance

log = logging.getLogger("consortia.jobs")

HUEY_NAME = "consortia"
TASK_NAME = "run_job"
QUEUED_GRACE = dt.timedelta(minutes=1)
_PENDING = "consortia.jobs.enqueue"


class JobQueue(Protocol):
    """Where job instance ids go once their transaction has committed."""

    def enqueue(self, instance_id: int, session_factory: SessionFactory) -> bool:
        """Hand over one instance id; True when the job already ran in this thread. Implementations that
        run jobs in-process use `session_factory` (sessions bound like the committing one)."""
        ...

    def pending_instance_ids(self) -> set[int] | None:
        """The ids waiting in the queue, or None when the queue cannot tell."""
        ...


class ImmediateQueue:
    """Runs each job at once, in the committing thread (`memory://`: tests and one-off scripts)."""

    def enqueue(self, instance_id: int, session_factory: SessionFactory) -> bool:
        run_instance(session_factory, instance_id)
        return True

    def pending_instance_ids(self) -> set[int] | None:
        return set()


def split_queue_name(url: str) -> tuple[str, str]:
    """(the Redis URL without `queue=`, the queue's name): `redis://h:6379/0?queue=q` → (`redis://h:6379/0`, `q`)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [value for key, value in query if key == "queue"]
    rest = urlencode([(key, value) for key, value in query if key != "queue"])
    return urlunsplit(parts._replace(query=rest)), (names[-1] if names and names[-1] else HUEY_NAME)


class HueyQueue:
    """Huey as the delivery: SQLite file (embedded) or Redis (separate worker processes)."""

    def __init__(self, url: str) -> None:
        from huey import RedisHuey, SqliteHuey

        self.url = url
        self.stop_event = threading.Event()
        self.distributed = url.startswith(("redis://", "rediss://", "unix://"))
        if self.distributed:
            redis_url, name = split_queue_name(url)
            self.huey = RedisHuey(name, url=redis_url, results=False, utc=True)
        elif url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///") :])
            path.parent.mkdir(parents=True, exist_ok=True)
            self.huey = SqliteHuey(HUEY_NAME, filename=str(path), results=False, utc=True, timeout=30)
        else:
            raise ValueError(f"unsupported queue URL {url!r}: use sqlite:///path, redis://host:port/db or memory://")
        self._task = self.huey.task(name=TASK_NAME)(self._run)

    def _run(self, instance_id: int) -> None:
        outcome = run_instance(get_database().sessionmaker, instance_id, stop=self.stop_event)
        if outcome == "stopped":
            # Shutting down: leave the id in the (persistent) queue for the next consumer.
            self._task(instance_id)

    def enqueue(self, instance_id: int, session_factory: SessionFactory) -> bool:
        self._task(instance_id)
        return False

    def pending_instance_ids(self) -> set[int] | None:
        try:
            return {int(task.args[0]) for task in self.huey.pending() if task.args}
        except Exception:
            log.exception("could not read the queue")
            return None

    def consumer(self, threads: int, *, handle_signals: bool) -> Any:
        """A Huey consumer of this queue in `threads` threads; without signal handlers when embedded."""
        from huey.consumer import Consumer

        queue = self

        class JobConsumer(Consumer):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                # SIGTERM (what service managers send) stops as gently as SIGINT: running chunks
                # finish and their instances are given back for the next worker.
                self._signal_actions[signal.SIGTERM] = (False, True)

            def _set_signal_handlers(self) -> None:
                if handle_signals:
                    super()._set_signal_handlers()

            def stop(self, graceful: bool = False) -> None:
                queue.stop_event.set()
                super().stop(graceful=graceful)

        return JobConsumer(
            self.huey,
            workers=max(1, threads),
            worker_type="thread",
            periodic=False,
            initial_delay=0.1,
            backoff=1.15,
            max_delay=1.0,
            check_worker_health=True,
            shutdown_timeout=30,
        )


# --- which queue -------------------------------------------------------------------------------

_queues: dict[str, JobQueue] = {}
_override: JobQueue | None = None
_queues_lock = threading.Lock()


def queue_for(url: str) -> JobQueue:
    """The one queue object of this process for `url`."""
    with _queues_lock:
        found = _queues.get(url)
        if found is None:
            found = ImmediateQueue() if url.startswith("memory://") else HueyQueue(url)
            _queues[url] = found
        return found


def get_queue() -> JobQueue:
    return _override if _override is not None else queue_for(get_settings().queue_url)


def set_queue(queue: JobQueue | None) -> None:
    """Use `queue` instead of the configured one (None: back to the configured one)."""
    global _override
    _override = queue


# --- handing over after commit -----------------------------------------------------------------


def enqueue_after_commit(session: Session, instance_id: int) -> None:
    """Hand `instance_id` to the queue when `session`'s transaction commits (never if it rolls back)."""
    session.info.setdefault(_PENDING, []).append(instance_id)


def session_factory_like(session: Session) -> SessionFactory:
    """Sessions bound like `session`: to its engine, or, when it works on one connection (a test's
    transaction), to that connection inside savepoints."""
    bind = session.bind
    if isinstance(bind, Connection):
        return sessionmaker(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)
    if bind is not None:
        return sessionmaker(bind=bind, expire_on_commit=False)
    return get_database().sessionmaker


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    if _PENDING not in session.info or session.in_nested_transaction():
        return
    ids: list[int] | None = session.info.pop(_PENDING, None)
    if not ids:
        return
    queue = get_queue()
    factory = session_factory_like(session)
    ran: set[int] = set()
    for instance_id in dict.fromkeys(ids):
        try:
            if queue.enqueue(instance_id, factory):
                ran.add(instance_id)
        except Exception:
            # The instance stays QUEUED; the sweeper hands it over again.
            log.exception("could not hand job instance %s to the queue", instance_id)
    if ran:
        # The job changed its row in other sessions; let this one read it afresh.
        for obj in list(session.identity_map.values()):
            if isinstance(obj, JobInstance) and obj.id in ran:
                session.expire(obj)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if _PENDING in session.info and transaction.parent is None and not transaction.nested:
        del session.info[_PENDING]


# --- recovery ------------------------------------------------------------------------------------


def recover_expired(session: Session, *, queue: JobQueue | None = None) -> list[int]:
    """Hand over again (after commit) the instances no runner is working on: RUNNING with an expired
    lease, and QUEUED for over a minute, unless they are waiting in the queue. Instances whose runners
    died MAX_ATTEMPTS times are marked FAILED instead. Answers the ids handed over."""
    now = utcnow()
    expired = and_(
        JobInstance.status == RUNNING,
        or_(JobInstance.lease_expires_at.is_(None), JobInstance.lease_expires_at < now),
    )
    hopeless = list(
        session.scalars(select(JobInstance.id).where(expired, JobInstance.attempts >= MAX_ATTEMPTS).limit(100))
    )
    if hopeless:
        session.execute(
            update(JobInstance)
            .where(JobInstance.id.in_(hopeless), expired)
            .values(
                status=FAILED,
                end_time=now,
                lease_owner=None,
                lease_expires_at=None,
                report=f"The job stopped: its worker stopped {MAX_ATTEMPTS} times while running it.",
            )
            .execution_options(synchronize_session=False)
        )
        log.error("job instances %s failed after %s attempts", hopeless, MAX_ATTEMPTS)
    candidates = list(
        session.scalars(
            select(JobInstance.id)
            .where(
                or_(
                    and_(expired, JobInstance.attempts < MAX_ATTEMPTS),
                    and_(JobInstance.status == QUEUED, JobInstance.submit_time < now - QUEUED_GRACE),
                )
            )
            .order_by(JobInstance.id)
            .limit(500)
        )
    )
    if not candidates:
        return []
    waiting = (queue or get_queue()).pending_instance_ids()
    handed = [i for i in candidates if waiting is None or i not in waiting]
    for instance_id in handed:
        enqueue_after_commit(session, instance_id)
    if handed:
        log.info("job instances handed to the queue again: %s", handed)
    return handed


_periodic: list[Callable[[SessionFactory], object]] = []


def add_periodic(task: Callable[[SessionFactory], object]) -> None:
    """Run `task` after every sweep (idempotent: a task handed over again is run once)."""
    if task not in _periodic:
        _periodic.append(task)


def sweep(session_factory: SessionFactory | None = None) -> list[int]:
    """One run of the sweeper in its own transaction, then the periodic tasks; errors are logged (the
    next run tries again). Answers the ids the sweeper handed over again."""
    factory = session_factory or get_database().sessionmaker
    handed: list[int] = []
    try:
        with factory() as session:
            handed = recover_expired(session)
            session.commit()
    except Exception:
        log.exception("the job sweeper failed")
    for task in list(_periodic):
        try:
            task(factory)
        except Exception:
            log.exception("the periodic task %s failed", getattr(task, "__name__", task))
    return handed


class Sweeper:
    """A thread that runs `sweep` every `interval` seconds until stopped."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="consortia-job-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            sweep()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def sweep_interval(settings: Settings) -> float:
    """Half the lease, between 1 and 30 seconds: a dead runner's instance is picked up soon after its
    lease expires, and a due schedule is submitted within half a minute."""
    return max(1.0, min(30.0, settings.job_lease_seconds / 2))


# --- consumers -----------------------------------------------------------------------------------


class EmbeddedWorker:
    """The server's own consumer threads and sweeper; `stop()` lets running chunks finish."""

    def __init__(self, consumer: Any, sweeper: Sweeper) -> None:
        self.consumer = consumer
        self.sweeper = sweeper

    def stop(self) -> None:
        self.sweeper.stop()
        self.consumer.stop(graceful=True)


def start_embedded(settings: Settings, *, threads: int = 2) -> EmbeddedWorker | None:
    """Consume the queue inside the server process when the queue is local (SQLite); with Redis the
    `consortia worker` processes do, and with `memory://` jobs run where they are committed. The server
    has assembled the domains (their job kinds) before."""
    queue = queue_for(settings.queue_url)
    if not isinstance(queue, HueyQueue):
        return None
    if queue.distributed:
        log.info("jobs are run by `consortia worker` processes reading %s", settings.queue_url)
        return None
    queue.stop_event.clear()
    sweep()
    consumer = queue.consumer(threads, handle_signals=False)
    consumer.start()
    sweeper = Sweeper(sweep_interval(settings))
    sweeper.start()
    return EmbeddedWorker(consumer, sweeper)


def run_worker(settings: Settings, *, threads: int = 2) -> None:
    """`consortia worker`: consume the configured queue until SIGINT/SIGTERM (blocking). The command has
    assembled the domains (their job kinds) before."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    init_database(settings.database_url)
    queue = queue_for(settings.queue_url)
    if not isinstance(queue, HueyQueue):
        raise SystemExit(
            "CONSORTIA_QUEUE_URL is memory://: jobs run where they are submitted and there is no queue to "
            "consume. Use sqlite:///path or redis://host:port/db."
        )
    queue.stop_event.clear()
    sweep()
    consumer = queue.consumer(threads, handle_signals=True)
    sweeper = Sweeper(sweep_interval(settings))
    sweeper.start()
    try:
        consumer.run()
    finally:
        sweeper.stop()
