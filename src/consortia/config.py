"""Settings, read once from the environment.

Every setting has a working default so that `consortia demo` runs with nothing configured:
an SQLite file under ./var, the job queue in the same process, and a secret key generated
once and kept next to the database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


def _default_var_dir() -> Path:
    return Path(os.environ.get("CONSORTIA_VAR_DIR", "var")).resolve()


def _secret_key(var_dir: Path) -> str:
    configured = os.environ.get("CONSORTIA_SECRET_KEY")
    if configured:
        return configured
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    queue_url: str
    secret_key: str
    var_dir: Path
    base_url: str = "http://127.0.0.1:8000"
    secure_cookies: bool = False
    session_hours: int = 12
    job_lease_seconds: int = 60
    smtp_url: str | None = None
    mail_from: str = "support@consortia.local"
    run_embedded_worker: bool = True
    # The largest file an import takes (ER-22); above it the upload answers 413.
    max_upload_bytes: int = 200 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; keyword arguments win (used by the CLI's --db and by tests)."""
    var_dir = Path(str(overrides.pop("var_dir", _default_var_dir())))
    database_url = str(
        overrides.pop("database_url", None) or os.environ.get("DATABASE_URL") or f"sqlite:///{var_dir / 'consortia.db'}"
    )
    queue_url = str(
        overrides.pop("queue_url", None) or os.environ.get("CONSORTIA_QUEUE_URL") or f"sqlite:///{var_dir / 'queue.db'}"
    )
    values: dict[str, object] = {
        "database_url": normalise_database_url(database_url),
        "queue_url": queue_url,
        "secret_key": str(overrides.pop("secret_key", None) or _secret_key(var_dir)),
        "var_dir": var_dir,
        "base_url": os.environ.get("CONSORTIA_BASE_URL", "http://127.0.0.1:8000"),
        "secure_cookies": os.environ.get("CONSORTIA_SECURE_COOKIES", "").lower() in {"1", "true", "yes"},
        "job_lease_seconds": int(os.environ.get("CONSORTIA_JOB_LEASE_SECONDS", "60")),
        "smtp_url": os.environ.get("CONSORTIA_SMTP_URL") or None,
        "mail_from": os.environ.get("CONSORTIA_MAIL_FROM", "support@consortia.local"),
        "run_embedded_worker": os.environ.get("CONSORTIA_EMBEDDED_WORKER", "1") != "0",
        "max_upload_bytes": int(os.environ.get("CONSORTIA_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024))),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def normalise_database_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


_current: Settings | None = None


def configure(settings: Settings) -> Settings:
    global _current
    _current = settings
    get_settings.cache_clear()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return _current or load_settings()
