"""Web pages of the collaborative network (placeholder until the pages land)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
