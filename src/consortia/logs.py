"""Logging of the server and worker processes, with secrets taken out of every line.

Alma clients send their key as `?apikey=...`, and registration and confirmation tokens travel in
addresses (`/support/register?token=...`, `/support/confirm/<token>`), so the access log would write
them down; database errors quote the statement's parameters. `RedactSecrets` rewrites each record
(message, arguments and traceback) before any handler formats it; `log_config` installs it on every
handler of `consortia serve`, `demo` and `worker` (uvicorn applies it again in each worker process), and
`install_redaction` puts it on uvicorn's loggers when the app is served some other way.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"

# Query and form values whose name says they are secret: apikey=, token=, registration_token=,
# password=, new_password=, secret=, the session cookie.
_NAMED_VALUE = re.compile(
    r"(?i)\b([\w.-]*(?:api[_-]?key|token|passw(?:or)?d|secret|consortia_session)[\w.-]*)=([^&\s\"',;]+)"
)
# The same names as keys of a mapping written out: {'apikey': 'K'}, "password": "P".
_NAMED_ITEM = re.compile(
    r"(?i)([\"'][\w.-]*(?:api[_-]?key|token|passw(?:or)?d|secret|authorization|cookie)[\w.-]*[\"']\s*:\s*)"
    r"(?:b?([\"'])(?:\\.|(?!\2).)*\2|[^\s,}]+)"
)
# Credentials in header form: `Authorization: apikey K`, `Authorization: Bearer K`, `Cookie: ...`.
_AUTHORIZATION = re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)(?:(apikey|bearer|basic)\s+)?[^\s\"',]+")
_APIKEY_SCHEME = re.compile(r"(?i)\b(apikey)\s+([A-Za-z0-9_~+/=.-]{8,})")
_COOKIE = re.compile(r"(?i)\b((?:set-)?cookie[\"']?\s*[:=]\s*[\"']?)[^\r\n\"']+")
# Addresses whose path carries a token (the confirmation link of SC-3, in its page and API forms).
_TOKEN_PATH = re.compile(r"(/support/confirm/|/support/registrations/)[^/?#\s\"']+")
# SQLAlchemy's "[parameters: ...]" part of a database error: the values of the failed statement.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background on this error|$))", re.DOTALL)


def redact(text: str) -> str:
    """`text` with every secret the patterns know replaced by [redacted]."""
    if not text:
        return text
    text = _NAMED_VALUE.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _NAMED_ITEM.sub(lambda m: f"{m.group(1)}'{MASK}'", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{MASK}", text)
    text = _APIKEY_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _COOKIE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _TOKEN_PATH.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _SQL_PARAMETERS.sub(f"[parameters: {MASK}]", text)


_PLAIN = (str, int, float, bool, type(None))


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


_plain = logging.Formatter()


class RedactSecrets(logging.Filter):
    """A filter that rewrites the record in place and never drops it.

    When the arguments are plain values, their texts are redacted and they keep their places (uvicorn's
    access formatter unpacks them, and `%d` needs a number); with an object among them (an exception,
    a mapping) the message is rendered and redacted as a whole. An exception's traceback is formatted
    here, redacted, and kept as the record's `exc_text`, which formatters use instead of formatting it
    again.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args or ()
        if isinstance(record.msg, str) and isinstance(args, tuple) and all(isinstance(v, _PLAIN) for v in args):
            record.msg = redact(record.msg)
            record.args = tuple(_redact_value(a) for a in args) or None
        else:
            # An object as the message or among the arguments (an exception, a mapping): only its text, where the names
            # of its secrets stand next to them, can be redacted.
            record.msg = redact(record.getMessage())
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction() -> None:
    """Put the filter on uvicorn's own loggers (idempotent): the access and error lines are logged there
    directly, whoever configured the handlers."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's default logging (same formats and streams), the redaction on every handler, and the
    `consortia.*` loggers at INFO on standard error (other libraries: warnings and errors)."""
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "consortia.logs.RedactSecrets"}},
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
            "app": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(name)s: %(message)s"},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
                "filters": ["redact"],
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "access",
                "stream": "ext://sys.stdout",
                "filters": ["redact"],
            },
            "app": {
                "class": "logging.StreamHandler",
                "formatter": "app",
                "stream": "ext://sys.stderr",
                "filters": ["redact"],
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": upper, "propagate": False},
            "uvicorn.error": {"level": upper},
            "uvicorn.access": {"handlers": ["access"], "level": upper, "propagate": False},
            "consortia": {"handlers": ["app"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["app"], "level": "WARNING"},
    }


def configure_process_logging() -> None:
    """Logging of a CLI process that is not a server (`consortia worker`): every logger at INFO on
    standard error with a timestamp, through the same filter."""
    import logging.config

    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "consortia.logs.RedactSecrets"}},
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "plain",
                    "stream": "ext://sys.stderr",
                    "filters": ["redact"],
                }
            },
            "root": {"handlers": ["stderr"], "level": "INFO"},
        }
    )
