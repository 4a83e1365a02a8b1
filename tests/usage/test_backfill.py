"""CSV back-fill: the command line (streamed, with a report) and the admins' page."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.usage.models import UsageDaily, UsageEvent, UsageImport
from tests.factories import PASSWORD

CSV = (
    "event_id,user,module,action,occurred_at\n"
    "c-1,Ann@x.test,FIN,invoice.post,2026-11-30T09:00:00+01:00\n"
    "c-2,ann@x.test,FIN,invoice.post,2026-11-30T10:00:00+01:00\n"
    "c-3,bob@x.test,NOPE,order.create,2026-11-30T10:00:00Z\n"
    "c-4,bob@x.test,SAL,order.create,2026-11-30 10:00\n"
    "\n"
    "c-1,ann@x.test,FIN,invoice.post,2026-11-30T09:00:00+01:00\n"
    "c-6,,SAL,order.create,2026-11-30T10:00:00Z\n"
    "c-7,bob@x.test,sal,order.create,2026-11-30T11:00:00Z\n"
)


def stored(session) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(UsageEvent.event_id)))


def test_the_command_imports_a_file_and_reports_rejected_lines(
    runner, db_session, modules, tmp_path
):
    path = tmp_path / "usage.csv"
    path.write_text(CSV)

    result = runner.invoke(args=["usage", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "3 accepted, 1 duplicates, 3 rejected" in result.output
    assert "line 4: unknown module 'NOPE'" in result.output
    assert "line 5: occurred_at" in result.output
    assert "line 8: missing field 'user'" in result.output
    assert stored(db_session) == {"c-1", "c-2", "c-7"}
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 3


def test_importing_the_same_file_again_changes_nothing(runner, db_session, modules, tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text(CSV)
    runner.invoke(args=["usage", "import", str(path)])

    result = runner.invoke(args=["usage", "import", str(path)])

    assert "0 accepted, 4 duplicates" in result.output
    assert db_session.scalar(select(func.sum(UsageDaily.events))) == 3


def test_a_file_larger_than_one_chunk_is_streamed(
    runner, db_session, modules, tmp_path, monkeypatch
):
    from app.usage import service

    monkeypatch.setattr(service, "STORE_CHUNK", 7)
    lines = ["event_id,user,module,action,occurred_at"] + [
        f"big-{n},u{n % 5}@x.test,FIN,a,2026-11-30T10:00:{n % 60:02d}Z" for n in range(50)
    ]
    lines[20] = "big-19,u@x.test,NOPE,a,2026-11-30T10:00:00Z"  # line 21 of the file
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")

    result = runner.invoke(args=["usage", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert "49 accepted, 0 duplicates, 1 rejected" in result.output
    assert "line 21: unknown module 'NOPE'" in result.output


def test_a_file_without_the_header_is_refused(runner, modules, tmp_path):
    path = tmp_path / "bare.csv"
    path.write_text("c-1,ann@x.test,FIN,invoice.post,2026-11-30T09:00:00Z\n")

    result = runner.invoke(args=["usage", "import", str(path)])

    assert result.exit_code != 0
    assert "Missing column" in result.output


def upload(browser, text: str, name: str = "usage.csv"):
    return browser.post(
        "/usage/import",
        data={"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def test_an_admin_imports_a_file_through_the_page(signed_in, admin, modules, db_session):
    browser = signed_in(admin)

    response = upload(browser, CSV)

    assert response.status_code == 303
    report = browser.get(response.headers["Location"])
    page = report.get_data(as_text=True)
    assert report.status_code == 200
    assert 'data-testid="accepted">3<' in page
    assert 'data-testid="duplicates">1<' in page
    assert "unknown module &#39;NOPE&#39;" in page or "unknown module 'NOPE'" in page
    assert stored(db_session) == {"c-1", "c-2", "c-7"}
    [record] = db_session.scalars(select(UsageImport)).all()
    assert (record.filename, record.rejected_count) == ("usage.csv", 3)


def test_the_report_page_says_why_in_the_readers_language(signed_in, admin, modules, db_session):
    browser = signed_in(admin)
    location = upload(browser, CSV).headers["Location"]

    page = browser.get(location, headers={"Accept-Language": "fr"}).get_data(as_text=True)
    [record] = db_session.scalars(select(UsageImport)).all()

    assert "module &#39;NOPE&#39; inconnu" in page
    assert "champ &#39;user&#39; manquant" in page
    assert "occurred_at n&#39;est pas un horodatage ISO 8601" in page
    # stored as the API answers it
    assert {"line": 4, "reason": "unknown module 'NOPE'"} in record.rejected


def test_the_page_refuses_a_file_without_the_header(signed_in, admin, modules, db_session):
    browser = signed_in(admin)

    response = upload(browser, "c-1,ann@x.test,FIN,a,2026-11-30T09:00:00Z\n")

    assert response.status_code == 303
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Missing column" in page
    assert stored(db_session) == set()


@pytest.mark.parametrize("role", ["agent", "auditor", "requester"])
def test_other_roles_may_not_import(signed_in, make_user, modules, db_session, role):
    browser = signed_in(make_user(role, password=PASSWORD))

    assert browser.get("/usage/import").status_code == 403
    assert upload(browser, CSV).status_code == 403
    assert stored(db_session) == set()
