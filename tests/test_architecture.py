"""The shape of the house (ARCHITECTURE.md): imports run down the layers, and a domain's tables, rules,
verbs and jobs know no HTTP and no page.

Read from the source with `ast`, nothing is imported: every `import` counts, also inside functions and
under `TYPE_CHECKING` (a type is a dependency too).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# The layers, lowest first; a module may import modules of its own layer and of the layers below it.
# The same table is in ARCHITECTURE.md.
LAYERS = (
    "base",  # config, db, errors, logs, schema, text, formats
    "tables",  # every package's models.py (and *_models.py: eresources' task and import tables)
    "access",  # consortia.access: identity, permissions, the permission map, roles
    "audit, jobs, mail",  # history, the job machinery, the outbox
    "platform services",  # consortia.platform (but its faces)
    "domain services",  # consortia.support, consortia.network, consortia.eresources (but their faces)
    "http and page kits",  # consortia.http, consortia.web (but its routes)
    "faces",  # consortia.almaws and every api/pages module: `/almaws/v1`, `/api/v1`, the pages
    "entry points",  # app, cli, domains and each domain's domain.py, demo, generate, the migrations
)

BASE = {"consortia", "consortia.config", "consortia.db", "consortia.errors", "consortia.logs"}
BASE |= {"consortia.schema", "consortia.text", "consortia.formats"}
ENTRY_POINTS = {"consortia.__main__", "consortia.app", "consortia.cli", "consortia.domain", "consortia.domains"}
ENTRY_POINTS |= {"consortia.demo", "consortia.generate", "consortia.models"}
PLATFORM = "consortia.platform"
DOMAINS = ("consortia.support", "consortia.network", "consortia.eresources")
KITS = ("consortia.http", "consortia.web")

# What a domain's tables, rules, verbs and jobs never import.
HTTP = ("fastapi", "starlette", "consortia.http", "consortia.web", "consortia.almaws")


def is_face(module: str) -> bool:
    """A route module: `/api/v1` (`api`, `*_api`) or pages (`pages`, `*_pages`), in any package."""
    leaf = module.rpartition(".")[2]
    return leaf in {"api", "pages"} or leaf.endswith(("_api", "_pages"))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> str:
    leaf = module.rpartition(".")[2]
    if module in BASE:
        return "base"
    if module in ENTRY_POINTS or leaf == "domain" or _within(module, "consortia.migrations"):
        return "entry points"
    if leaf == "models" or leaf.endswith("_models"):
        return "tables"
    if is_face(module) or _within(module, "consortia.almaws"):
        return "faces"
    if any(_within(module, kit) for kit in KITS):
        return "http and page kits"
    if _within(module, "consortia.access"):
        return "access"
    if _within(module, "consortia.audit") or _within(module, "consortia.jobs") or module == "consortia.mail":
        return "audit, jobs, mail"
    if _within(module, PLATFORM):
        return "platform services"
    if any(_within(module, domain) for domain in DOMAINS):
        return "domain services"
    raise AssertionError(f"{module} is in no layer: add it to the layers here and in ARCHITECTURE.md")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "consortia").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str) -> str:
    """The module an imported dotted name lives in (`consortia.access.roles.R` -> the roles module)."""
    known = modules()
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str) -> Iterator[tuple[int, str]]:
    """(line, imported name) of every import in `module`; names of this project resolved to modules."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, _resolve(alias.name) if alias.name.startswith("consortia") else alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("consortia"):
                yield node.lineno, base
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield node.lineno, full if full in modules() else _resolve(base)


def test_every_module_has_a_layer() -> None:
    for module in modules():
        assert layer_of(module) in LAYERS


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_domain_hands_over_in_its_domain_module(domain: str) -> None:
    """Each domain has its `domain.py`, and only the entry points import it."""
    assert f"{domain}.domain" in modules()
    found = [
        f"{module}:{line} imports {imported}"
        for module in modules()
        if layer_of(module) != "entry points"
        for line, imported in imports_of(module)
        if imported == f"{domain}.domain"
    ]
    assert not found, "\n".join(found)


def test_imports_run_down_the_layers() -> None:
    upward = []
    for module in modules():
        rank = LAYERS.index(layer_of(module))
        for line, imported in imports_of(module):
            if not imported.startswith("consortia") or imported == module:
                continue
            if LAYERS.index(layer_of(imported)) > rank:
                upward.append(f"{module}:{line} ({layer_of(module)}) imports {imported} ({layer_of(imported)})")
    assert not upward, "imports that run up the layers:\n" + "\n".join(dict.fromkeys(upward))


def test_the_platform_knows_no_domain() -> None:
    """The platform (its services and its faces alike) imports no domain built on it: what a domain adds to
    the platform's answers and pages comes through a hook the domain hands over (`consortia.domain`)."""
    found = [
        f"{module}:{line} imports {imported}"
        for module in modules()
        if _within(module, PLATFORM) and layer_of(module) != "entry points"
        for line, imported in imports_of(module)
        if any(_within(imported, domain) for domain in DOMAINS)
    ]
    assert not found, "\n".join(dict.fromkeys(found))


def _http(name: str) -> bool:
    return any(_within(name, prefix) for prefix in HTTP) or (name.startswith("consortia.") and is_face(name))


@pytest.mark.parametrize("kind", ["models", "policy", "service", "jobs"])
def test_tables_rules_verbs_and_jobs_know_no_http(kind: str) -> None:
    """A domain's (and the platform's, and the kernel's) models, policy, service and jobs modules never
    import FastAPI, Starlette, the HTTP or page kit, the Alma face or a domain's api/pages."""
    checked = [
        module
        for module in modules()
        if (module.rpartition(".")[2] == kind or module.endswith(f"_{kind}")) and layer_of(module) != "faces"
    ]
    assert checked
    found = [
        f"{module}:{line} imports {imported}"
        for module in checked
        for line, imported in imports_of(module)
        if _http(imported)
    ]
    assert not found, "\n".join(dict.fromkeys(found))


def test_nothing_below_the_kits_knows_http() -> None:
    """The stronger rule the layers give: no module below the HTTP and page kits imports FastAPI or Starlette."""
    below = LAYERS.index("http and page kits")
    found = [
        f"{module}:{line} imports {imported}"
        for module in modules()
        if LAYERS.index(layer_of(module)) < below
        for line, imported in imports_of(module)
        if _http(imported)
    ]
    assert not found, "\n".join(found)


def test_the_checks_notice_what_they_forbid() -> None:
    assert layer_of("consortia.support.service") == "domain services"
    assert layer_of("consortia.support.api") == "faces"
    assert layer_of("consortia.platform.user_pages") == "faces"
    assert layer_of("consortia.support.models") == "tables"
    assert layer_of("consortia.support.domain") == "entry points"
    assert layer_of("consortia.network.domain") == "entry points"
    assert layer_of("consortia.eresources.domain") == "entry points"
    assert layer_of("consortia.network.rules") == "domain services"
    assert layer_of("consortia.eresources.task_models") == "tables"
    assert layer_of("consortia.eresources.acq_api") == "faces"
    assert layer_of("consortia.eresources.import_pages") == "faces"
    assert layer_of("consortia.almaws.electronic") == "faces"
    assert _http("consortia.network.pages")
    assert _http("consortia.eresources.task_api")
    assert not _http("consortia.eresources.task_schemas")
    assert _http("fastapi.responses")
    assert _http("consortia.support.pages")
    assert not _http("consortia.support.schemas")
    assert LAYERS.index(layer_of("consortia.access.policy")) < LAYERS.index(layer_of("consortia.platform.users"))
