"""Every error code the API can answer is in the one table (consortia.almaws.error_codes), in
docs/errors.md and in the OpenAPI description, with the status it comes with; and every row of the table
is given by something. The codes are found by reading the source: the codes passed to the error classes
(or their default codes), and those of the error handlers."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consortia.almaws.error_codes import ERROR_CODES

ROOT = Path(__file__).parents[2]
SOURCE = ROOT / "src" / "consortia"
DOCS = ROOT / "docs" / "errors.md"
# Where a handler helper takes its code: fixed(status, code, message), answer(request, status, code, message),
# error_response(request, status, code, message).
HELPERS = {"fixed": (0, 1), "answer": (1, 2), "error_response": (1, 2)}


@dataclass
class ErrorClass:
    bases: list[str]
    status: int | None
    default_code: str | None


def _modules() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(), str(path)) for path in sorted(SOURCE.rglob("*.py"))}


def _constants(modules: dict[Path, ast.Module]) -> dict[str, set[str]]:
    """Module-level string constants of the package, by name (INVALID = "40166411")."""
    found: dict[str, set[str]] = defaultdict(set)
    for tree in modules.values():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id].add(node.value.value)
    return found


def _error_classes(modules: dict[Path, ast.Module]) -> dict[str, ErrorClass]:
    classes: dict[str, ErrorClass] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            attrs: dict[str, object] = {}
            for item in node.body:
                if isinstance(item, ast.Assign) and isinstance(item.value, ast.Constant):
                    for target in item.targets:
                        if isinstance(target, ast.Name):
                            attrs[target.id] = item.value.value
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases]
            classes[node.name] = ErrorClass(bases, attrs.get("status"), attrs.get("default_code"))  # type: ignore[arg-type]

    def is_error(name: str) -> bool:
        if name == "DomainError":
            return True
        found = classes.get(name)
        return found is not None and any(is_error(b) for b in found.bases)

    return {name: c for name, c in classes.items() if is_error(name)}


def _inherited(classes: dict[str, ErrorClass], name: str, attr: str) -> object:
    value = getattr(classes[name], attr)
    if value is not None:
        return value
    for base in classes[name].bases:
        if base in classes:
            found = _inherited(classes, base, attr)
            if found is not None:
                return found
    return None


def given_codes() -> tuple[dict[str, set[int | None]], list[str]]:
    """code -> the statuses it is answered with (None: decided at run time); and the calls whose code
    cannot be read from the source."""
    modules = _modules()
    constants = _constants(modules)
    classes = _error_classes(modules)
    codes: dict[str, set[int | None]] = defaultdict(set)
    unreadable: list[str] = []

    def code_of(node: ast.expr, where: str) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and len(constants.get(node.id, ())) == 1:
            return next(iter(constants[node.id]))
        unreadable.append(f"{where}: {ast.unparse(node)}")
        return None

    for name in classes:
        default = _inherited(classes, name, "default_code")
        if isinstance(default, str):
            codes[default].add(_inherited(classes, name, "status"))  # type: ignore[arg-type]
    for path, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HTTP_STATUS_CODES" for t in node.targets
            ):
                assert isinstance(node.value, ast.Dict)
                for key, value in zip(node.value.keys, node.value.values, strict=True):
                    assert isinstance(key, ast.Constant)
                    assert isinstance(value, ast.Constant)
                    codes[str(value.value)].add(int(key.value))
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(SOURCE)}:{node.lineno}"
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if func in classes:
                argument = node.args[1] if len(node.args) > 1 else None
                argument = next((k.value for k in node.keywords if k.arg == "code"), argument)
                status = _inherited(classes, func, "status")
                if argument is None:
                    default = _inherited(classes, func, "default_code")
                    assert isinstance(default, str), where
                    codes[default].add(status)  # type: ignore[arg-type]
                elif (code := code_of(argument, where)) is not None:
                    codes[code].add(status)  # type: ignore[arg-type]
            elif func in HELPERS:
                status_at, code_at = HELPERS[func]
                # a code passed on (a parameter, `exc.code`) is checked where it is made
                if len(node.args) > code_at and not isinstance(node.args[code_at], ast.Name | ast.Attribute):
                    status_node = node.args[status_at]
                    status = status_node.value if isinstance(status_node, ast.Constant) else None
                    if (code := code_of(node.args[code_at], where)) is not None:
                        codes[code].add(status)  # type: ignore[arg-type]
            elif (
                func == "get"
                and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value) == ("HTTP_STATUS_CODES")
            ):
                assert len(node.args) == 2, where
                if (code := code_of(node.args[1], where)) is not None:
                    codes[code].add(None)
    return codes, unreadable


def _table_rows(text: str) -> dict[str, str]:
    rows = {}
    for match in re.finditer(r"^\| `([^`]+)` \| ([^|]+) \|", text, re.MULTILINE):
        rows[match.group(1)] = match.group(2).strip()
    return rows


def test_the_scan_finds_the_codes_it_should() -> None:
    # The scan itself: it must see a default code, a constant passed by name and a handler's code.
    codes, _ = given_codes()
    assert {404, 500} <= codes["402119"]  # NotFound's default code, the unexpected-error handler
    assert 400 in codes["40166411"]  # INVALID = "40166411" of platform.common, and the validation handler
    assert 405 in codes["402221"]  # HTTP_STATUS_CODES
    assert 400 in codes["60106"]


def test_every_code_given_is_in_the_table_with_its_status() -> None:
    codes, unreadable = given_codes()
    assert unreadable == [], "give error codes as literals or module constants so that they can be checked"
    table = {row.code: {int(s) for s in row.statuses.split(", ")} for row in ERROR_CODES}
    assert len(table) == len(ERROR_CODES), "a code is listed twice"
    missing = sorted(set(codes) - set(table))
    assert missing == [], f"error codes given but not documented in consortia.almaws.error_codes: {missing}"
    wrong_status = {
        code: sorted(s for s in statuses if s is not None and s not in table[code])
        for code, statuses in codes.items()
        if any(s is not None and s not in table[code] for s in statuses)
    }
    assert wrong_status == {}, f"statuses the table does not list for the code: {wrong_status}"
    stale = sorted(set(table) - set(codes))
    assert stale == [], f"documented codes that nothing gives any more: {stale}"


def test_docs_and_openapi_show_the_table(app: FastAPI) -> None:
    expected = {row.code: row.statuses for row in ERROR_CODES}
    assert _table_rows(DOCS.read_text()) == expected, "docs/errors.md differs from consortia.almaws.error_codes"
    description = TestClient(app).get("/openapi.json").json()["info"]["description"]
    assert _table_rows(description) == expected
    assert "docs/errors.md" in (ROOT / "README.md").read_text()


def test_errors_starlette_answers_itself_use_documented_codes(client: TestClient) -> None:
    key_less = client.get("/almaws/v1/no-such-path")
    wrong_method = client.patch("/almaws/v1/conf/libraries")
    unreadable_body = client.post(
        "/api/v1/support/cases/00000001/attachments",
        content=b"--x\r\nnot a multipart body",
        headers={"content-type": "multipart/form-data; boundary=x", "Authorization": "apikey nope"},
    )
    documented = {row.code for row in ERROR_CODES}
    for response, status in ((key_less, 404), (wrong_method, 405), (unreadable_body, 400)):
        assert response.status_code == status, response.text
        assert response.json()["errorList"]["error"][0]["errorCode"] in documented, response.text
