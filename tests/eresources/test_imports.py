"""ER-22 Repository Import: profiles, each per-record library rule with its counter, MARC21 and MARCXML files
of several encodings, broken records reported as events without stopping the good ones, a second import
of the same file creating nothing (R-5), and bad uploads (413, 400)."""

from __future__ import annotations

import io

import pymarc
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consortia.audit.models import HistoryEvent
from consortia.eresources.models import BibRecord, Portfolio
from tests.eresources.conftest import World, collection

PROFILES = "/almaws/v1/conf/md-import-profiles"
IMPORTS = "/api/v1/eresources/imports"
CONFLICT = "Electronic portfolio skipped due to library conflict with the electronic collection library"


def marc_record(n: int, library: str | None = None, *, title: str | None = None, utf8: bool = True) -> pymarc.Record:
    record = pymarc.Record(leader="00000nas a2200000 a 4500" if utf8 else "00000nas  2200000   4500")
    record.add_field(pymarc.Field(tag="001", data=f"rec{n:06d}"))
    record.add_field(
        pymarc.Field(
            tag="245",
            indicators=pymarc.Indicators("0", "0"),
            subfields=[pymarc.Subfield("a", title or f"Journal number {n}")],
        )
    )
    if library is not None:
        record.add_field(
            pymarc.Field(tag="950", indicators=pymarc.Indicators(" ", " "), subfields=[pymarc.Subfield("l", library)])
        )
    return record


def marc21(*records: pymarc.Record) -> bytes:
    return b"".join(r.as_marc() for r in records)


def profile(client: TestClient, headers: dict[str, str], **fields: object) -> dict[str, object]:
    body = {"name": "Journals", "type": {"value": "REPOSITORY"}, "portfolio_type": {"value": "STANDALONE"}, **fields}
    answer = client.post(PROFILES, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def run_import(
    client: TestClient, headers: dict[str, str], profile_id: object, data: bytes, name: str = "f.mrc"
) -> dict[str, object]:
    answer = client.post(
        f"{IMPORTS}?profile_id={profile_id}", files={"file": (name, io.BytesIO(data))}, headers=headers
    )
    assert answer.status_code == 202, answer.text
    link = answer.json()["link"]
    return dict(client.get(link[link.index("/almaws/") :], headers=headers).json())


def counters(instance: dict[str, object]) -> dict[str, int]:
    return {c["type"]["desc"]: int(c["value"]) for c in instance["counter"]}  # type: ignore[attr-defined,index]


def test_profiles_are_created_read_and_changed(client: TestClient, db: Session, world: World) -> None:
    coll, _svc = collection(db, world.east, world.law)
    db.commit()
    headers = world.key("eio_law")
    created = profile(
        client,
        headers,
        portfolio_type={"value": "PART_OF_ELECTRONIC_COLLECTION"},
        electronic_collection={"value": str(coll.id)},
        library_field={"tag": "950", "subfield": "l"},
        default_library={"value": "EAST_MAIN"},
    )
    assert created["electronic_collection"]["value"] == str(coll.id)  # type: ignore[index]
    assert created["default_library"]["value"] == "EAST_MAIN"  # type: ignore[index]
    url = f"{PROFILES}/{created['id']}"
    assert client.get(url, headers=headers).json()["library_field"] == {"tag": "950", "subfield": "l"}
    changed = client.put(url, json={"type": {"value": "NEW_ORDER"}}, headers=headers).json()
    assert changed["type"]["value"] == "NEW_ORDER"
    assert changed["library_field"] == {"tag": "", "subfield": ""}  # only Repository profiles take a library
    assert client.get(PROFILES, headers=headers).json()["total_record_count"] == 1
    assert client.get(url, headers=world.key("west_eio")).status_code == 404


def test_the_collection_is_mandatory_and_must_be_in_scope(client: TestClient, db: Session, world: World) -> None:
    coll, _ = collection(db, world.east, world.sci)
    db.commit()
    headers = world.key("eio_law")
    body = {"name": "P", "type": {"value": "REPOSITORY"}, "portfolio_type": {"value": "PART_OF_ELECTRONIC_COLLECTION"}}
    assert client.post(PROFILES, json=body, headers=headers).status_code == 400
    out_of_scope = {**body, "electronic_collection": {"value": str(coll.id)}}
    answer = client.post(PROFILES, json=out_of_scope, headers=headers)
    assert answer.status_code == 400
    assert "scope" in answer.json()["errorList"]["error"][0]["errorMessage"]
    bad_default = {"name": "P", "default_library": {"value": "WEST_MAIN"}}
    assert client.post(PROFILES, json=bad_default, headers=headers).status_code == 400


@pytest.fixture
def law_profile(client: TestClient, db: Session, world: World) -> dict[str, object]:
    coll, _ = collection(db, world.east, world.law)
    db.commit()
    return profile(
        client,
        world.key("ext"),
        portfolio_type={"value": "PART_OF_ELECTRONIC_COLLECTION"},
        electronic_collection={"value": str(coll.id)},
        library_field={"tag": "950", "subfield": "l"},
        default_library={"value": "EAST_MAIN"},
    )


def _portfolio_libraries(db: Session) -> list[tuple[str, int | None]]:
    db.expire_all()
    rows = db.execute(
        select(BibRecord.title, Portfolio.library_id)
        .join(Portfolio, Portfolio.bib_id == BibRecord.id)
        .order_by(BibRecord.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_extracted_library_equal_to_the_collections_is_created(
    client: TestClient, db: Session, world: World, law_profile: dict[str, object]
) -> None:
    instance = run_import(client, world.key("ext"), law_profile["id"], marc21(marc_record(1, "EAST_LAW")))
    assert counters(instance)["Electronic portfolios created"] == 1
    assert _portfolio_libraries(db) == [("Journal number 1", None)]  # inherits the collection's


def test_a_different_library_is_skipped_and_counted(
    client: TestClient, db: Session, world: World, law_profile: dict[str, object]
) -> None:
    instance = run_import(client, world.key("ext"), law_profile["id"], marc21(marc_record(1, "EAST_SCI")))
    assert counters(instance)[CONFLICT] == 1
    assert counters(instance)["Electronic portfolios created"] == 0
    assert _portfolio_libraries(db) == []


def test_no_library_value_is_created(
    client: TestClient, db: Session, world: World, law_profile: dict[str, object]
) -> None:
    instance = run_import(client, world.key("ext"), law_profile["id"], marc21(marc_record(1)))
    assert counters(instance)["Electronic portfolios created"] == 1


def test_a_value_naming_no_library_takes_the_default_library(client: TestClient, db: Session, world: World) -> None:
    created = profile(
        client, world.key("ext"), library_field={"tag": "950", "subfield": "l"}, default_library={"value": "EAST_SCI"}
    )
    instance = run_import(client, world.key("ext"), created["id"], marc21(marc_record(1, "EAST_LWA")))
    assert counters(instance)["Default library used"] == 1
    assert _portfolio_libraries(db) == [("Journal number 1", world.sci.id)]


def test_standalone_portfolios_are_created_with_the_extracted_library(
    client: TestClient, db: Session, world: World
) -> None:
    created = profile(client, world.key("ext"), library_field={"tag": "950", "subfield": "l"})
    instance = run_import(client, world.key("ext"), created["id"], marc21(marc_record(1, "east_main"), marc_record(2)))
    assert counters(instance)["Electronic portfolios created"] == 2
    assert _portfolio_libraries(db) == [("Journal number 1", world.main.id), ("Journal number 2", None)]
    history = db.scalar(
        select(func.count()).select_from(HistoryEvent).where(HistoryEvent.job_instance_id == int(instance["id"]))  # type: ignore[arg-type]
    )
    assert history == 2 + 2 + 1  # each bib and portfolio created, one portfolio library


@pytest.mark.parametrize("kind", ["INVENTORY_UPDATE", "NEW_ORDER"])
def test_other_profile_types_ignore_the_library(client: TestClient, db: Session, world: World, kind: str) -> None:
    created = profile(client, world.key("ext"), type={"value": kind}, library_field={"tag": "950", "subfield": "l"})
    instance = run_import(client, world.key("ext"), created["id"], marc21(marc_record(1, "EAST_MAIN")))
    assert counters(instance)["Electronic portfolios created"] == 1
    assert _portfolio_libraries(db) == [("Journal number 1", None)]


def test_the_same_file_twice_creates_nothing_twice(client: TestClient, db: Session, world: World) -> None:
    created = profile(client, world.key("ext"))
    data = marc21(*(marc_record(n) for n in range(5)))
    run_import(client, world.key("ext"), created["id"], data)
    again = run_import(client, world.key("ext"), created["id"], data)
    assert counters(again)["Records already imported"] == 5
    assert counters(again)["Records imported"] == 0
    assert len(_portfolio_libraries(db)) == 5


def _events(client: TestClient, headers: dict[str, str], instance: dict[str, object]) -> list[dict[str, object]]:
    link = str(instance["link"])
    answer = client.get(link[link.index("/almaws/") :] + "/events?limit=100", headers=headers).json()
    return list(answer.get("event", []))


def test_broken_records_are_events_and_never_stop_the_good_ones(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSORTIA_JOB_CHUNK_SIZE", "2")
    created = profile(client, world.key("ext"))
    good = [marc_record(n).as_marc() for n in range(4)]
    bad_leader = b"xx" + good[1][2:]
    bad_directory = good[2][:27] + b"abcd" + good[2][31:]
    latin1 = marc_record(9, title="Caf\u00e9").as_marc().replace("Café".encode(), "Caf\xe9".encode("latin-1"))
    latin1 = f"{len(latin1):05d}".encode() + latin1[5:]
    truncated = good[3][:40]
    data = good[0] + bad_leader + bad_directory + latin1 + marc_record(10).as_marc() + truncated
    headers = world.key("ext")
    instance = run_import(client, headers, created["id"], data)
    assert instance["status"]["value"] == "COMPLETED_FAILED"  # type: ignore[index]
    assert counters(instance)["Records imported"] == 2
    assert counters(instance)["Records not imported (malformed)"] == 4
    events = _events(client, headers, instance)
    assert [e["record"] for e in events] == [2, 3, 4, 6]
    assert "leader" in str(events[0]["desc"])
    assert "UTF-8" in str(events[2]["desc"])
    assert "truncated" in str(events[3]["desc"])


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1"])
def test_marcxml_files_are_detected_and_imported(client: TestClient, db: Session, world: World, encoding: str) -> None:
    created = profile(client, world.key("ext"))
    records = [
        pymarc.record_to_xml(marc_record(n, title=f"Revue n\u00b0{n}"), namespace=False).decode() for n in range(3)
    ]
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<marc:collection xmlns:marc="http://www.loc.gov/MARC21/slim">'
    body = "".join(r.replace("<record", "<marc:record").replace("</record", "</marc:record") for r in records)
    body = body.replace("<leader", "<marc:leader").replace("</leader", "</marc:leader")
    for name in ("controlfield", "datafield", "subfield"):
        body = body.replace(f"<{name}", f"<marc:{name}").replace(f"</{name}", f"</marc:{name}")
    broken = "<marc:record><marc:leader>00000nas a2200000 a 4500</marc:leader><marc:datafield tag='245'></marc:record>"
    data = (text + body + broken + "</marc:collection>").encode(encoding)
    instance = run_import(client, world.key("ext"), created["id"], data, name="f.xml")
    assert counters(instance)["Records imported"] == 3
    assert counters(instance)["Records not imported (malformed)"] == 1
    assert [t for t, _ in _portfolio_libraries(db)] == ["Revue n\u00b00", "Revue n\u00b01", "Revue n\u00b02"]


def test_marc8_records_are_read(client: TestClient, db: Session, world: World) -> None:
    created = profile(client, world.key("ext"))
    record = marc_record(1, utf8=False)
    instance = run_import(client, world.key("ext"), created["id"], record.as_marc())
    assert counters(instance)["Records imported"] == 1


def test_bad_uploads(client: TestClient, db: Session, world: World, settings: object) -> None:
    import dataclasses

    from consortia import config

    created = profile(client, world.key("ext"))
    headers = world.key("ext")
    url = f"{IMPORTS}?profile_id={created['id']}"
    for data in (b"", b"hello, this is not MARC at all\n"):
        answer = client.post(url, files={"file": ("f.mrc", io.BytesIO(data))}, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["errorsExist"] is True
    small = dataclasses.replace(config.get_settings(), max_upload_bytes=100)
    previous = config.get_settings()
    config.configure(small)
    try:
        answer = client.post(
            url, files={"file": ("f.mrc", io.BytesIO(marc21(*(marc_record(n) for n in range(5)))))}, headers=headers
        )
    finally:
        config.configure(previous)
    assert answer.status_code == 413
    assert answer.json()["errorList"]["error"][0]["errorCode"] == "PAYLOAD_TOO_LARGE"
    assert _portfolio_libraries(db) == []
    assert (
        client.post(
            f"{IMPORTS}?profile_id=999999", files={"file": ("f", io.BytesIO(b"x"))}, headers=headers
        ).status_code
        == 404
    )
    assert client.post(url, files={"file": ("f.mrc", io.BytesIO(b"x"))}, headers=world.key("desk")).status_code == 403
