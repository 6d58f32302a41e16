"""The `consortia` command: init, serve, demo, worker, jobs, generate, import."""

from __future__ import annotations

import os
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from typer.core import TyperGroup

from consortia.config import configure, get_settings, load_settings
from consortia.errors import DomainError
from consortia.logs import configure_process_logging, log_config, redact


class Commands(TyperGroup):
    """Every failure of a command ends it with a message on standard error and exit code 1 (usage
    errors keep click's 2); an unforeseen exception keeps its traceback (and exit code 1)."""

    def invoke(self, ctx: Any) -> Any:  # typer.Context, or the click context typer bundles
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            fail(exc.message)
        except SQLAlchemyError as exc:
            reason = redact(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]).rstrip(".")
            hint = " Is the database server running, and has `consortia init` created the schema?"
            fail(
                f"The database at {_redacted(get_settings().database_url)} cannot be used: {reason}."
                + (hint if isinstance(exc, OperationalError) else "")
            )
        except (OSError, ValueError) as exc:
            fail(str(exc) or type(exc).__name__)
        except SystemExit as exc:
            if isinstance(exc.code, str):  # raise SystemExit("message"): the message, on standard error
                fail(exc.code)
            raise


app = typer.Typer(cls=Commands, help="Consortia: a platform for library consortia.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs: list and show.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
console = Console()
errors = Console(stderr=True)


@app.callback()
def assemble_domains() -> None:
    """Consortia: a platform for library consortia."""
    # Every command (a worker too) works with every domain's rules, job kinds and hooks in place.
    from consortia.domains import assemble

    assemble()


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command: `message` on standard error, exit code `code`."""
    errors.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


DbOption = Annotated[
    str | None, typer.Option("--db", help="Database URL (default: DATABASE_URL or ./var/consortia.db).")
]


def _settings(db: str | None):  # type: ignore[no-untyped-def]
    settings = load_settings(database_url=db) if db else load_settings()
    if db:
        os.environ["DATABASE_URL"] = settings.database_url  # so that server workers see the same URL
    return configure(settings)


@app.command()
def init(
    db: DbOption = None,
    operator_key: Annotated[str | None, typer.Option(help="Use this as the operator's API key.")] = None,
    operator_password: Annotated[str | None, typer.Option(help="Set the operator's sign-in password.")] = None,
) -> None:
    """Create or upgrade the schema and the operator account; a generated key is printed once."""
    from consortia.db import init_database
    from consortia.platform.setup import ensure_operator
    from consortia.schema import upgrade

    settings = _settings(db)
    database = init_database(settings.database_url)
    upgrade(database.engine)
    with database.session() as session:
        result = ensure_operator(session, api_key=operator_key, password=operator_password)
    console.print(f"[green]Schema is up to date[/green] at {_redacted(settings.database_url)}")
    if result.created:
        console.print("Operator account [bold]operator[/bold] created.")
    if result.generated_key:
        console.print(f"Operator API key (shown once): [bold]{result.generated_key}[/bold]")
    if result.generated_password:
        console.print(f"Operator password (shown once): [bold]{result.generated_password}[/bold]")


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.split("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Server processes (production: one per core).")] = 1,
) -> None:
    """Serve the web pages and the API."""
    import uvicorn

    _settings(db)
    level = "warning" if workers > 1 else "info"
    if workers > 1:
        # Worker processes each build the app from the environment; jobs then run in `consortia worker`
        # processes (or the first server process, with the embedded queue).
        uvicorn.run(
            "consortia.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=level,
            log_config=log_config(level),
            proxy_headers=True,
        )
        return
    from consortia.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level=level, log_config=log_config(level), proxy_headers=True)


@app.command()
def demo(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Only build the demo data.")] = False,
) -> None:
    """Create the schema, the demo consortia (once), print the sign-ins, and serve."""
    from consortia.db import init_database
    from consortia.demo import build_demo
    from consortia.platform.demo import DEMO_API_KEY_USER, DEMO_PASSWORD, demo_api_key
    from consortia.platform.setup import ensure_operator
    from consortia.schema import upgrade

    settings = _settings(db)
    database = init_database(settings.database_url)
    upgrade(database.engine)
    with database.session() as session:
        ensure_operator(session, api_key=None, password=DEMO_PASSWORD)
    with database.session() as session:
        sign_ins = build_demo(session)
        api_key = demo_api_key(session)
    table = Table(title=f"Demo sign-ins (password for all: {DEMO_PASSWORD})")
    for column in ("User name", "Institution", "Who"):
        table.add_column(column)
    for row in sign_ins:
        table.add_row(row.username, row.institution, row.description)
    console.print(table)
    console.print(f"Open [bold]http://{host}:{port}/[/bold] in a browser.")
    _print_demo_api_key(api_key, DEMO_API_KEY_USER, f"http://{host}:{port}")
    if not no_serve:
        serve(db=db, host=host, port=port, workers=1)


def _print_demo_api_key(api_key: str | None, username: str, base: str) -> None:
    """The demo's API key and a first call with it, or how to make a key when it was revoked."""
    if api_key is None:
        console.print(
            f"The demo API key of {username} was revoked: sign in as {username} and create one under "
            "My account → My API keys.",
            markup=False,
        )
        return
    console.print(f"Demo API key (acts as {username}): {api_key}", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f'Try the API:  curl -H "Authorization: apikey {api_key}" "{base}/almaws/v1/users?limit=3"',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def worker(
    db: DbOption = None,
    threads: Annotated[int, typer.Option(help="Worker threads in this process.")] = 2,
) -> None:
    """Run background jobs from the configured queue: Redis at scale, or the SQLite queue file that
    the server also consumes (CONSORTIA_QUEUE_URL). Stops gracefully on SIGINT/SIGTERM; a job whose
    worker is killed is resumed by another worker once its lease (CONSORTIA_JOB_LEASE_SECONDS) expires."""
    from consortia.jobs.queue import run_worker

    configure_process_logging()
    run_worker(_settings(db), threads=threads)


@jobs_app.command("list")
def jobs_list(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
) -> None:
    """The newest job instances."""
    from consortia.db import init_database
    from consortia.jobs.service import recent_instances

    settings = _settings(db)
    with init_database(settings.database_url).session() as session:
        rows = recent_instances(session, limit=limit)
    table = Table()
    for column in ("Instance", "Job", "Institution", "Status", "Progress", "Submitted by", "Submitted"):
        table.add_column(column)
    for row in rows:
        table.add_row(*[str(v) for v in row])
    console.print(table)


@jobs_app.command("show")
def jobs_show(instance_id: int, db: DbOption = None) -> None:
    """One job instance: status, counters, report and events."""
    from consortia.db import init_database
    from consortia.jobs.models import JobInstance
    from consortia.jobs.service import describe_instance

    settings = _settings(db)
    with init_database(settings.database_url).session() as session:
        if session.get(JobInstance, instance_id) is None:
            fail(f"Job instance {instance_id} was not found.")
        console.print(describe_instance(session, instance_id))


@app.command()
def generate(
    db: DbOption = None,
    size: Annotated[str, typer.Option(help="S (1% of L), M (10%) or L (SPEC N).")] = "S",
) -> None:
    """Build synthetic data at scale for the benchmarks (SPEC N), with a progress bar."""
    from consortia.db import init_database
    from consortia.generate import generate_data
    from consortia.schema import upgrade

    settings = _settings(db)
    database = init_database(settings.database_url)
    upgrade(database.engine)
    generate_data(database, size.upper(), console=console)


@app.command("import")
def import_file(
    file: Annotated[str, typer.Argument(help="A binary MARC21 or MARCXML file.")],
    profile: Annotated[str, typer.Option("--profile", help="The import profile's id.")],
    as_user: Annotated[str, typer.Option("--as", help="The primary id of the user the import acts as.")],
    institution: Annotated[str | None, typer.Option(help="The institution's code (needed for the operator).")] = None,
    db: DbOption = None,
) -> None:
    """Import a MARC file with an import profile (Repository Import, ER-22), following the job to its end."""
    from pathlib import Path

    from rich.progress import Progress

    from consortia.db import init_database
    from consortia.eresources.import_cli import follow, submit_file
    from consortia.jobs.service import describe_instance

    path = Path(file)
    if not path.is_file():
        fail(f"{file} is not a file.")
    database = init_database(_settings(db).database_url)
    instance_id = submit_file(database, path, profile, as_user, institution)
    console.print(f"Job instance {instance_id} (Repository Import) submitted.")
    with Progress(console=console) as progress:
        task = progress.add_task("Importing", total=100)

        def show(percent: int, status: str) -> None:
            progress.update(task, completed=percent, description=status)

        follow(database, instance_id, show)
    with database.session() as session:
        console.print(describe_instance(session, instance_id))


def main() -> None:  # pragma: no cover - console entry
    app()
