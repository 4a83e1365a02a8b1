"""Attachments: checked (size, declared type, actual content), stored on disk outside the
database, and downloadable only by those who can see the ticket."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.factories import tiny_png

TICKET = {
    "title": "Invoice posting fails",
    "description": "See the screenshot.",
    "module": "FIN",
    "impact": "medium",
    "urgency": "medium",
}
MAX_BYTES = 4096


PNG = tiny_png()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture
def app_config():
    return {"ATTACHMENT_MAX_BYTES": MAX_BYTES}


@pytest.fixture
def rita(as_, make_user, make_module):
    make_module("FIN")
    return as_(make_user("requester", email="rita@example.com"))


@pytest.fixture
def sam(as_, make_user, make_module):
    make_module("FIN")
    return as_(make_user("requester", email="sam@example.com"))


def new_ticket(client) -> str:
    response = client.post("/api/v1/tickets", json=TICKET)
    assert response.status_code == 201
    return response.get_json()["ref"]


@pytest.fixture
def ref(rita) -> str:
    return new_ticket(rita)


def upload(client, ref: str, data: bytes, filename: str, content_type: str):
    return client.post(
        f"/api/v1/tickets/{ref}/attachments",
        data={"file": (io.BytesIO(data), filename, content_type)},
        content_type="multipart/form-data",
    )


def uploaded(client, ref: str, data: bytes = PNG, filename: str = "screen.png") -> dict:
    response = upload(client, ref, data, filename, "image/png")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stored_files(app) -> list[Path]:
    root = Path(app.config["ATTACHMENT_DIR"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def attachments_of(client, ref: str) -> list[dict]:
    return client.get(f"/api/v1/tickets/{ref}/attachments").get_json()["items"]


# --- accepted files --------------------------------------------------------------------------


def test_a_png_screenshot_is_accepted_and_described(ref, rita):
    response = upload(rita, ref, PNG, "screen.png", "image/png")

    assert response.status_code == 201
    attachment = response.get_json()
    assert attachment["filename"] == "screen.png"
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert attachment["uploaded_by"] == "rita@example.com"
    assert [a["id"] for a in attachments_of(rita, ref)] == [attachment["id"]]


def test_the_file_is_stored_on_disk_under_a_name_of_its_own(app, ref, rita):
    uploaded(rita, ref)

    files = stored_files(app)
    assert len(files) == 1
    assert files[0].read_bytes() == PNG
    assert "screen" not in files[0].name


def test_the_requester_downloads_the_same_bytes_as_an_attachment(ref, rita):
    attachment = uploaded(rita, ref)

    response = rita.get(attachment["url"])

    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "screen.png" in disposition


def test_the_support_team_downloads_it_too(ref, rita, alex):
    attachment = uploaded(rita, ref)

    response = alex.get(attachment["url"])

    assert (response.status_code, response.data) == (200, PNG)


def test_a_plain_text_log_is_accepted(ref, rita):
    log = b"2025-03-03 09:00 ERROR period 13 closed\n"

    response = upload(rita, ref, log, "posting.log", "text/plain")

    assert response.status_code == 201


def test_an_upload_appears_in_the_history(ref, rita):
    uploaded(rita, ref)

    last = rita.get(f"/api/v1/tickets/{ref}/history").get_json()["items"][-1]
    assert (last["action"], last["changes"]) == (
        "attachment_added",
        {"attachment": [None, "screen.png"]},
    )


def test_a_path_in_the_filename_is_dropped(app, ref, rita):
    attachment = uploaded(rita, ref, filename="../../etc/screen.png")

    assert "/" not in attachment["filename"]
    assert ".." not in attachment["filename"]
    root = Path(app.config["ATTACHMENT_DIR"]).resolve()
    assert all(root in path.resolve().parents for path in stored_files(app))


# --- who may download ------------------------------------------------------------------------


def test_another_requester_cannot_download_it(ref, rita, sam):
    attachment = uploaded(rita, ref)

    assert sam.get(attachment["url"]).status_code == 404
    assert sam.get(f"/api/v1/tickets/{ref}/attachments").status_code == 404


def test_an_attachment_cannot_be_fetched_through_another_ticket(ref, rita, sam):
    attachment = uploaded(rita, ref)
    sams_ticket = new_ticket(sam)

    response = sam.get(f"/api/v1/tickets/{sams_ticket}/attachments/{attachment['id']}")

    assert response.status_code == 404


def test_another_requester_cannot_attach_to_the_ticket(ref, sam, app):
    response = upload(sam, ref, PNG, "screen.png", "image/png")

    assert response.status_code == 404
    assert stored_files(app) == []


# --- refused files ---------------------------------------------------------------------------


def test_an_executable_renamed_as_a_png_is_refused_and_not_kept(app, ref, rita):
    response = upload(rita, ref, EXE, "screen.png", "image/png")

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
    assert stored_files(app) == []
    assert attachments_of(rita, ref) == []


def test_a_file_over_the_size_limit_is_refused_and_not_kept(app, ref, rita):
    too_big = PNG + b"\x00" * MAX_BYTES

    response = upload(rita, ref, too_big, "big.png", "image/png")

    assert response.status_code == 422
    assert response.get_json()["errors"]["file"] == ["At most 4 KiB."]
    assert stored_files(app) == []
    assert attachments_of(rita, ref) == []


def test_a_file_just_at_the_size_limit_is_accepted(ref, rita):
    at_limit = PNG + b"\x00" * (MAX_BYTES - len(PNG))

    assert upload(rita, ref, at_limit, "big.png", "image/png").status_code == 201


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [("setup.exe", "application/x-msdownload"), ("page.html", "text/html")],
)
def test_a_type_outside_the_allow_list_is_refused(app, ref, rita, filename, content_type):
    response = upload(rita, ref, b"<html>hello</html>", filename, content_type)

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
    assert stored_files(app) == []


def test_binary_content_declared_as_text_is_refused(app, ref, rita):
    response = upload(rita, ref, EXE, "notes.txt", "text/plain")

    assert response.status_code == 422
    assert stored_files(app) == []


def test_an_empty_file_is_refused(app, ref, rita):
    response = upload(rita, ref, b"", "empty.png", "image/png")

    assert response.status_code == 422
    assert stored_files(app) == []


def test_a_request_without_a_file_is_refused(ref, rita):
    response = rita.post(
        f"/api/v1/tickets/{ref}/attachments", data={}, content_type="multipart/form-data"
    )

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
