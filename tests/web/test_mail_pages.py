"""The operator's mail outbox pages: newest first, paged, filtered by address, a message with its body;
for nobody else (the same `mail:read` as `GET /api/v1/mail/outbox`)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from consortia.access import roles as R
from consortia.db import utcnow
from consortia.mail import MailMessage, send_mail
from tests.factories import Factory
from tests.web.test_sign_in import sign_in

ROW = re.compile(r'<tr id="mail-row-(\d+)">')


def _outbox(factory: Factory, count: int) -> list[MailMessage]:
    messages = [
        send_mail(factory.session, f"reader{i}@example.edu", f"Message {i:02d}", f"Body of message {i}\nline two")
        for i in range(count)
    ]
    factory.session.commit()
    return messages


def test_the_operator_pages_through_the_outbox_newest_first(client: TestClient, factory: Factory) -> None:
    factory.operator("op-mail")
    messages = _outbox(factory, 30)
    assert sign_in(client, "op-mail") == 303
    home = client.get("/").text
    assert '<a href="/operator/mail">Mail outbox</a>' in home

    first = client.get("/operator/mail")
    assert first.status_code == 200
    ids = [int(found) for found in ROW.findall(first.text)]
    assert len(ids) == 25
    assert ids == sorted(ids, reverse=True)
    assert ids[0] == messages[-1].id
    assert "30 messages" in first.text
    assert '<a id="next-page" href="/operator/mail?page=2" rel="next">Next</a>' in first.text
    assert 'id="previous-page"' not in first.text
    assert "reader29@example.edu" in first.text
    assert "Message 29" in first.text

    second = client.get("/operator/mail?page=2").text
    rest = [int(found) for found in ROW.findall(second)]
    assert rest == [m.id for m in reversed(messages[:5])]
    assert 'id="previous-page"' in second
    assert 'id="next-page"' not in second

    only = client.get("/operator/mail?to=READER7@example.edu").text
    assert [int(found) for found in ROW.findall(only)] == [messages[7].id]
    assert "1 message to READER7@example.edu" in only


def test_the_status_and_the_body_of_one_message(client: TestClient, factory: Factory) -> None:
    factory.operator("op-mail")
    pending, sent, failed = _outbox(factory, 3)
    sent.sent_at = utcnow()
    failed.error = "550 mailbox unavailable"
    factory.session.commit()
    assert sign_in(client, "op-mail") == 303
    listing = client.get("/operator/mail").text
    for message, status in ((pending, "Pending"), (sent, "Sent"), (failed, "Failed")):
        row = listing[listing.index(f'<tr id="mail-row-{message.id}">') :]
        row = row[: row.index("</tr>")]
        assert f"<td>{status}" in row, status

    page = client.get(f"/operator/mail/{failed.id}")
    assert page.status_code == 200
    assert '<h1 id="mail-subject">Message 02</h1>' in page.text
    assert '<dd id="mail-to-address">reader2@example.edu</dd>' in page.text
    assert '<pre id="mail-body" class="pre-wrap">Body of message 2\nline two</pre>' in page.text
    assert '<dd id="mail-error">550 mailbox unavailable</dd>' in page.text
    assert '<dd id="mail-status">Failed</dd>' in page.text
    assert client.get("/operator/mail/999999999").status_code == 404
    assert client.get("/operator/mail/nonsense").status_code == 400


def test_the_outbox_pages_are_the_operators(client: TestClient, factory: Factory) -> None:
    (message,) = _outbox(factory, 1)
    institution = factory.institution("MAILI")
    factory.user(institution, "maili-gsa", roles=(R.GENERAL_SYSTEM_ADMINISTRATOR,))
    factory.session.commit()
    assert sign_in(client, "maili-gsa") == 303
    assert 'href="/operator/mail"' not in client.get("/").text
    for path in ("/operator/mail", f"/operator/mail/{message.id}"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Body of message" not in response.text
    client.cookies.clear()
    assert client.get("/operator/mail", follow_redirects=False).status_code == 303  # sign in first
