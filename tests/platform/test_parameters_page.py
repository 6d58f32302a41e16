"""The parameters pages present each parameter by a label and one sentence saying what it does and who
may change it, the key kept visible in small text (P-2)."""

from __future__ import annotations

import html
import re

import pytest
from fastapi import FastAPI

from consortia.platform.parameters import DEFINITIONS
from tests.audit.world import World, build_world
from tests.factories import Factory
from tests.platform.test_operator_pages import SEARCH_ALL, TEMP, Browser

EXPECTED = {
    TEMP: (
        "Electronic resources limited by role scope",
        "Limit electronic resource edits to the libraries of the user's role scope; "
        "only the operator can change it (contact support to enable).",
    ),
    SEARCH_ALL: (
        "Network search by name",
        "Let other members of the fulfillment network find this institution's patrons by name, not only by "
        "identifier; the institution's General System Administrator can change it.",
    ),
}


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def _row_heading(page: str, name: str) -> tuple[str, str, str]:
    """(label, key, explanation) of the parameter's row heading, as text."""
    found = re.search(rf'<th scope="row" id="param-row-{name}">(.*?)</th>', page, re.S)
    assert found, f"no row for {name}"
    cell = found.group(1)

    def part(css: str, tag: str = "span") -> str:
        match = re.search(rf'<{tag} class="[^"]*\b{css}\b[^"]*">(.*?)</{tag}>', cell, re.S)
        assert match, f"{name}: no {css} in {cell}"
        return html.unescape(" ".join(match.group(1).split()))

    return part("param-label"), part("param-key", "code"), part("param-explanation")


def test_each_parameter_has_a_label_an_explanation_and_its_key(app: FastAPI, world: World) -> None:
    page = Browser(app, "east-gsa", "EAST").get("/admin/parameters")
    for name, (label, explanation) in EXPECTED.items():
        assert _row_heading(page, name) == (label, name, explanation)
    for name, definition in DEFINITIONS.items():
        shown_label, key, shown_explanation = _row_heading(page, name)
        assert (shown_label, key, shown_explanation) == (definition.label, name, definition.explanation)
        assert shown_label != name
        # One sentence, ending with who may change it.
        assert shown_explanation.endswith(" change it.") or shown_explanation.endswith("(contact support to enable).")
        assert ". " not in shown_explanation
    # The form field of an editable parameter is named by its label for screen readers.
    assert f'<label for="param-{SEARCH_ALL}">New value<span class="visually-hidden"> of Network search by name' in page


def test_the_operators_institution_page_shows_the_same_labels(app: FastAPI, world: World) -> None:
    page = Browser(app, "op-anna").get("/operator/institutions/EAST")
    for name, (label, explanation) in EXPECTED.items():
        assert _row_heading(page, name) == (label, name, explanation)
