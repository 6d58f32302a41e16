"""Real `consortia worker` processes for the SIGKILL tests (R-1): start them on a job's queue, kill one in
the middle of a job, let a replacement finish it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from consortia.db import Database
from consortia.jobs.models import COMPLETED_SUCCESS, RUNNING, JobInstance
from tests.jobs.test_kill_worker import _wait_for


def read_instance(database: Database, instance_id: int) -> JobInstance:
    with database.session() as session:
        found = session.get(JobInstance, instance_id)
        assert found is not None
        return found


class Workers:
    """Worker processes sharing one database and queue, each logging to `<name>.log` in `logs`, with a
    short lease, small chunks and a pause before each chunk commits (so a kill lands mid-job)."""

    def __init__(
        self,
        database: Database,
        queue_url: str,
        logs: Path,
        started: list[subprocess.Popen[bytes]],
        *,
        chunk_size: int = 100,
    ) -> None:
        self.database = database
        self.logs = logs
        self.started = started
        self.env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "CONSORTIA_QUEUE_URL": queue_url,
            "CONSORTIA_VAR_DIR": str(logs / "var"),
            "CONSORTIA_JOB_LEASE_SECONDS": "2",
            "CONSORTIA_JOB_CHUNK_SIZE": str(chunk_size),
            "CONSORTIA_JOB_CHUNK_DELAY": "0.15",
        }

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "consortia", "worker", "--threads", "1"]
        process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def kill_mid_job(self, instance_id: int) -> JobInstance:
        """A first worker takes the job, does some of it, and is killed with SIGKILL inside a chunk."""
        worker = self.start("first-worker")
        _wait_for(lambda: self.read(instance_id).progress > 0, 30, "the first worker's progress", self.logs)
        time.sleep(0.2)  # into the next chunk, whose transaction is open while it waits
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed = self.read(instance_id)
        assert killed.status == RUNNING, "the job finished before the worker was killed: nothing was tested"
        return killed

    def finish(self, instance_id: int, seconds: float = 90) -> JobInstance:
        """A replacement takes the job once the dead worker's lease has expired and finishes it."""
        replacement = self.start("second-worker")
        _wait_for(lambda: self.read(instance_id).status == COMPLETED_SUCCESS, seconds, "the job's end", self.logs)
        replacement.send_signal(signal.SIGTERM)
        assert replacement.wait(timeout=20) == 0
        return self.read(instance_id)

    def read(self, instance_id: int) -> JobInstance:
        return read_instance(self.database, instance_id)
