"""The domains are assembled in every kind of process: whichever entry point a process starts from (the
server, a worker, a command of the command line), every permission has exactly one set of rules in the
permission map and every job kind is known. Importing a domain's modules puts nothing in place.

Each check runs in a fresh interpreter, so that nothing the test process imported counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from consortia.access.permissions import Permission
from consortia.access.policy import PERMISSION_MAP, Grant, grant, operator, signed_in
from consortia.domains import DOMAINS, assemble
from consortia.jobs.registry import job_kinds

REPORT = """
import json
from consortia.access.permissions import Permission
from consortia.access.policy import PERMISSION_MAP
from consortia.audit.registry import history_kinds
from consortia.jobs.registry import job_kinds
print("REPORT " + json.dumps({
    "without_rules": sorted(p.value for p in Permission if not PERMISSION_MAP.get(p)),
    "unknown": sorted(str(p) for p in PERMISSION_MAP if not isinstance(p, Permission)),
    "kinds": sorted(kind.job_id for kind in job_kinds()),
    "history": history_kinds(),
}))
"""

SERVER = """
from consortia.app import create_app
from consortia.config import load_settings
create_app(load_settings(database_url=URL, var_dir=VAR, secret_key="x", queue_url="memory://"), start_worker=False)
"""

# `consortia worker`, up to where it would start consuming the queue.
WORKER = """
import consortia.jobs.queue
consortia.jobs.queue.run_worker = lambda settings, threads=2: None
from consortia.cli import app
try:
    app(["worker", "--db", URL])
except SystemExit as exc:
    assert not exc.code, exc.code
"""

COMMAND = """
from consortia.cli import app
try:
    app(["init", "--db", URL])
except SystemExit as exc:
    assert not exc.code, exc.code
"""

# A process that only imports the domains' rules, verbs and jobs, and assembles nothing.
IMPORTS_ONLY = """
import consortia.platform.jobs
import consortia.support.policy
import consortia.support.service
import consortia.network.policy
import consortia.network.service
import consortia.network.jobs
import consortia.eresources.policy
import consortia.eresources.service
import consortia.eresources.jobs
import consortia.eresources.portfolio_jobs
import consortia.eresources.imports
import consortia.jobs.runner
"""


def _report(tmp_path: Path, program: str) -> dict[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'process.db'}"
    prelude = f"URL = {url!r}\nVAR = {str(tmp_path / 'var')!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + program + REPORT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"CONSORTIA_VAR_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))  # type: ignore[no-any-return]


def _expected_kinds() -> list[str]:
    return sorted(kind.job_id for domain in DOMAINS for kind in domain.job_kinds)


def _expected_history_kinds() -> list[str]:
    return sorted(kind for domain in DOMAINS for kind in domain.history_kinds)


@pytest.mark.parametrize("program", [SERVER, WORKER, COMMAND], ids=["server", "worker", "command"])
def test_every_process_has_the_whole_map_and_every_job_kind(tmp_path: Path, program: str) -> None:
    report = _report(tmp_path, program)
    assert report["without_rules"] == []
    assert report["unknown"] == []
    assert report["kinds"] == _expected_kinds()
    assert report["history"] == _expected_history_kinds()


def test_importing_a_domain_puts_nothing_in_place(tmp_path: Path) -> None:
    report = _report(tmp_path, IMPORTS_ONLY)
    for permission in (Permission.CASE_READ, Permission.NETWORK_CONFIG_READ, Permission.ERESOURCE_READ):
        assert permission.value in report["without_rules"]
    # What the platform's own map lacks is exactly what the domains grant: each permission has its rules
    # from one place, the platform's map or one domain's grants.
    assert set(report["without_rules"]) == {entry.permission.value for domain in DOMAINS for entry in domain.grants}
    assert report["kinds"] == []
    assert report["history"] == []


def test_every_permission_has_one_set_of_rules_from_one_domain() -> None:
    granted = [entry.permission for domain in DOMAINS for entry in domain.grants]
    assert len(granted) == len(set(granted)), "a permission granted by two domains"
    assemble()
    assert set(PERMISSION_MAP) == set(Permission)
    assert all(PERMISSION_MAP[permission] for permission in Permission)
    # The network's and electronic resources' permissions come from their own domains' grants.
    by_domain = {entry.permission: domain.name for domain in DOMAINS for entry in domain.grants}
    assert by_domain[Permission.WALK_IN_FIND] == "network"
    assert by_domain[Permission.ERESOURCE_READ] == "eresources"


def test_a_second_set_of_rules_for_a_permission_is_refused() -> None:
    assemble()
    with pytest.raises(ValueError, match="already has rules"):
        grant(Grant(Permission.CASE_READ, (operator, signed_in)))
    assemble()  # the same grants again change nothing
    assert PERMISSION_MAP[Permission.JOB_READ]
    assert job_kinds()


def test_assembly_hands_the_due_schedules_tick_to_the_sweeper() -> None:
    """The sweeper of every consumer runs the due schedules' tick, handed over at assembly (the job
    machinery does not import the schedules, which submit through the service above it)."""
    from consortia.domains import assemble
    from consortia.jobs import queue, schedules

    assemble()
    assemble()
    assert queue._periodic.count(schedules.run_due_schedules) == 1
