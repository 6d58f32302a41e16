"""The PyPI client `almapipy`, pointed at a running server, reads e-collections (paging with all_records),
e-services, portfolios by collection and by record, and records, in JSON and in XML."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import uvicorn
from almapipy import AlmaCnxn
from almapipy.client import Client
from fastapi import FastAPI
from sqlalchemy.orm import Session

from tests.eresources.conftest import World, bib, build_world, collection, portfolio
from tests.factories import Factory

ALMA_HOST = "https://api-na.hosted.exlibrisgroup.com"


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=10)


def point_at(client: Any, base: str, seen: set[int] | None = None) -> None:
    """Replace Alma's host in every sub-client's connection parameters (almapipy has no base-URL option)."""
    seen = seen if seen is not None else set()
    if id(client) in seen:
        return
    seen.add(id(client))
    params = getattr(client, "cnxn_params", None)
    if isinstance(params, dict):
        for key in ("base_uri", "api_uri_full"):
            if isinstance(params.get(key), str):
                params[key] = params[key].replace(ALMA_HOST, base)
    for value in vars(client).values():
        if isinstance(value, Client):
            point_at(value, base, seen)


@pytest.fixture
def world(factory: Factory) -> World:
    return build_world(factory)


def test_almapipy_reads_the_electronic_inventory(server: str, db: Session, world: World) -> None:
    collections = [collection(db, world.east, world.law if n % 2 else None, name=f"Package {n:02d}") for n in range(12)]
    coll, svc = collections[0]
    record = bib(db, world.east, "Journal of Clients")
    in_collection = [portfolio(db, world.east, service=svc, record=record) for _ in range(3)]
    standalone = portfolio(db, world.east, record=record, library=world.law)
    db.commit()
    headers = world.key("desk")
    key = headers["Authorization"].split(" ", 1)[1]

    alma = AlmaCnxn(key, data_format="json")
    point_at(alma, server)
    first = alma.electronic.collections.get(limit=5)
    assert first["total_record_count"] == 12
    assert len(first["electronic_collection"]) == 5
    every = alma.electronic.collections.get(limit=5, all_records=True)
    assert sorted(c["id"] for c in every["electronic_collection"]) == sorted(str(c.id) for c, _ in collections)
    found = alma.electronic.collections.get(query={"name": "Package 03"})
    assert [c["public_name"] for c in found["electronic_collection"]] == ["Package 03"]
    one = alma.electronic.collections.get(collection_id=str(coll.id))
    assert one["library"] == {"value": "", "desc": None}
    services = alma.electronic.services.get(str(coll.id))
    assert [s["id"] for s in services["electronic_service"]] == [str(svc.id)]
    assert alma.electronic.services.get(str(coll.id), service_id=str(svc.id))["id"] == str(svc.id)
    listed = alma.electronic.portfolios.get(str(coll.id), str(svc.id))
    assert sorted(p["id"] for p in listed["portfolio"]) == sorted(str(p.id) for p in in_collection)
    got = alma.electronic.portfolios.get(str(coll.id), str(svc.id), portfolio_id=str(in_collection[0].id))
    assert got["resource_metadata"]["title"] == "Journal of Clients"
    by_bib = alma.bibs.catalog.get_portfolios(str(record.id))
    assert by_bib["total_record_count"] == 4
    alone = alma.bibs.catalog.get_portfolios(str(record.id), portfolio_id=str(standalone.id))
    assert alone["is_standalone"] is True
    assert alone["library"]["value"] == "EAST_LAW"
    assert alma.bibs.catalog.get(str(record.id))["mms_id"] == str(record.id)
    assert alma.bibs.catalog.get([str(record.id)])["bib"][0]["title"] == "Journal of Clients"

    xml = AlmaCnxn(key, data_format="xml")
    point_at(xml, server)
    root = xml.electronic.collections.get(limit=100)
    assert isinstance(root, ET.Element)
    assert root.attrib["total_record_count"] == "12"
    portfolio_xml = xml.bibs.catalog.get_portfolios(str(record.id), portfolio_id=str(standalone.id))
    assert portfolio_xml.findtext("is_standalone") == "true"
