"""Issue 16 (items 1, 3, 7): replay spellings, the one JSON body reader, the one id parser. Each refusal's exact
status and code, and that nothing was stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from district.audit.models import AuditEntry
from district.auth.services import create_token, create_user
from district.reports.models import HazardEntry, PeriodApproval, Rejection, ReportHead, ReportRevision
from district.scoring.models import Inspection
from tests.conftest import SignedClient, example_report


def count(session: Any, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def nothing_stored(session: Any) -> bool:
    return all(count(session, m) == 0 for m in (ReportRevision, ReportHead, HazardEntry))


def bearer(session: Any, role: str = "county_admin", scope: str = "610528", name: str = "admin") -> dict[str, str]:
    user = create_user(session, name, "correct horse battery", role, scope=scope)
    return {"Authorization": f"Bearer {create_token(session, user, 't')}"}


def post_raw(agent: SignedClient, raw: bytes, content_type: str = "application/json") -> Any:
    return agent.post_report(None, body=raw, content_type=content_type)


# ---------------------------------------------------------------- 1. replay: one spelling of a signature

WHITESPACE = [chr(c) for c in range(0x10000) if chr(c).isspace()]


def test_no_spelling_of_a_captured_request_is_new(agent: SignedClient, client: Any, session: Any) -> None:
    """The issue's attack: a report refused 409 while its period was locked, replayed after the unlock with the
    signature respelled (white space around it, other case), the timestamp or school header respelled: every
    variant is 401, and no revision is stored."""
    admin = bearer(session)
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=admin).status_code == 200
    body = json.dumps(example_report()).encode()
    captured = {**agent.headers("POST", "/api/v1/reports", body), "Content-Type": "application/json"}
    first = client.post("/api/v1/reports", data=body, headers=captured)
    assert first.status_code == 409 and first.json["error"]["code"] == "period_locked"
    assert client.post("/api/v1/periods/610528/2026-09/unlock", headers=admin).status_code == 200

    sig, ts, school = (captured[h] for h in ("X-Houqin-Signature", "X-Houqin-Timestamp", "X-Houqin-School"))
    assert {"\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u3000"} <= set(WHITESPACE)
    variants: list[tuple[str, str, str]] = []  # (header, value, expected code)
    for ws in WHITESPACE:
        variants += [
            ("X-Houqin-Signature", sig + ws, "bad_signature"),
            ("X-Houqin-Signature", ws + sig, "bad_signature"),
            ("X-Houqin-Timestamp", ts + ws, "bad_timestamp"),
            ("X-Houqin-School", school + ws, "unknown_school"),
        ]
    for spelled in (sig, sig.upper(), sig[:32].upper() + sig[32:], sig.swapcase()):
        variants.append(("X-Houqin-Signature", spelled, "replay"))
    full_width = ts.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    for stamp in ("+" + ts, ts[:4] + "_" + ts[4:], " " + ts, full_width):
        variants.append(("X-Houqin-Timestamp", stamp, "bad_timestamp"))
    variants.append(("X-Houqin-Timestamp", "0" + ts, "bad_signature"))  # digits, but not the string signed
    for header, value, code in variants:
        # through the WSGI environ: the test client's Headers refuse a line break, a server passes what it got
        others = {k: v for k, v in captured.items() if k != header}
        environ = {"HTTP_" + header.upper().replace("-", "_"): value}
        resp = client.post("/api/v1/reports", data=body, headers=others, environ_overrides=environ)
        assert resp.status_code == 401, (header, repr(value), resp.json)
        assert resp.json["error"]["code"] == code, (header, repr(value))
    assert nothing_stored(session)
    assert count(session, ReportRevision) == 0


# ---------------------------------------------------------------- 3. the report body


def test_a_lone_surrogate_in_a_report_is_400_logged_and_its_signature_kept(
    agent: SignedClient, client: Any, session: Any
) -> None:
    raw = json.dumps(example_report(prepared_by="\ud800")).encode()  # json.dumps writes the escape "\ud800"
    assert b"\\ud800" in raw
    headers = {**agent.headers("POST", "/api/v1/reports", raw), "Content-Type": "application/json"}
    resp = client.post("/api/v1/reports", data=raw, headers=headers)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["code"] == "lone_surrogate"
    assert resp.json["error"]["details"][0]["path"] == "/prepared_by"
    assert nothing_stored(session)
    rej = session.scalars(select(Rejection).order_by(Rejection.id.desc())).first()
    assert (rej.status, rej.code, rej.school_code, rej.details) == (
        400,
        "lone_surrogate",
        "6105280001",
        [{"path": "/prepared_by", "code": "lone_surrogate"}],
    )
    again = client.post("/api/v1/reports", data=raw, headers=headers)
    assert again.status_code == 401 and again.json["error"]["code"] == "replay"  # the signature was kept as seen


@pytest.mark.parametrize(
    ("mutate", "status", "code", "path"),
    [
        (lambda r: r["hazards"][0].update(ref="H\u0000-1"), 400, "nul_character", "/hazards/0/ref"),
        (lambda r: r["hazards"][0].update(description="墙\u0000"), 400, "nul_character", "/hazards/0/description"),
        (lambda r: r["hazards"][0].update(description="\udfff"), 400, "lone_surrogate", "/hazards/0/description"),
        (lambda r: r.update(prepared_by="\u200b"), 422, "validation_failed", "/prepared_by"),
        (lambda r: r.update(prepared_by="李\u202e四"), 422, "validation_failed", "/prepared_by"),
        (lambda r: r["hazards"][0].update(description="墙\x1b[2J"), 422, "validation_failed", "/hazards/0/description"),
    ],
)
def test_text_the_database_or_a_reader_cannot_take_is_refused(
    agent: SignedClient, session: Any, mutate: Any, status: int, code: str, path: str
) -> None:
    report = example_report()
    if not report["hazards"]:
        pytest.skip("the example report has no hazard")  # pragma: no cover
    mutate(report)
    resp = post_raw(agent, json.dumps(report).encode())  # ASCII escapes: "\ud800" and "\u0000" as an agent may
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["code"] == code
    assert path in [d["path"] for d in resp.json["error"]["details"]]
    assert nothing_stored(session)


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code", "path"),
    [
        (b'{"period": "2026-09", "period": "2026-08"}', "application/json", 400, "duplicate_key", "/period"),
        (b'{"hazards": [{"ref": "a", "ref": "b"}]}', "application/json", 400, "duplicate_key", "/hazards/0/ref"),
        (b"{}", "application/json; charset=latin-1", 415, "unsupported_charset", None),
        (b"{}", "application/json; charset=iso-8859-1", 415, "unsupported_charset", None),
        (b'{"prepared_by": "\xe6\x9d"}', "application/json", 400, "invalid_encoding", None),
        (b'{"prepared_by": "\xed\xa0\x80"}', "application/json", 400, "invalid_encoding", None),  # CESU surrogate
        (b"[" * 200_000, "application/json", 400, "nesting_too_deep", None),
        (b'{"a": NaN}', "application/json", 415, "malformed_json", None),
    ],
)
def test_a_body_the_reader_refuses(
    agent: SignedClient, session: Any, raw: bytes, content_type: str, status: int, code: str, path: str | None
) -> None:
    resp = post_raw(agent, raw, content_type)
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["code"] == code
    if path is not None:
        assert resp.json["error"]["details"][0]["path"] == path
    assert nothing_stored(session)
    rej = session.scalars(select(Rejection).order_by(Rejection.id.desc())).first()
    assert (rej.status, rej.code, rej.school_code) == (status, code, "6105280001")


def test_charset_utf_8_in_any_spelling_is_read(agent: SignedClient, session: Any) -> None:
    resp = agent.post_report(example_report(), content_type='application/json; charset="UTF-8"')
    assert resp.status_code == 201, resp.json


# ---------------------------------------------------------------- 3. the bureau's JSON bodies

DEEP = b"[" * 60_000  # within the bureau bodies' 64 KiB; one byte more than that is 413
TOO_LARGE = b" " * (64 * 1024 + 1)


def test_inspection_bodies(client: Any, session: Any, county: Any) -> None:
    admin = bearer(session)
    url = "/api/v1/schools/6105280002/inspections"
    good = {"date": "2026-10-15", "score": 4.5, "inspector": "教育局后勤科"}
    cases = [
        (DEEP, "application/json", 400, "nesting_too_deep", None),
        (TOO_LARGE, "application/json", 413, "payload_too_large", None),
        (
            b'{"date": "2026-10-15", "score": 4, "inspector": "\\ud800"}',
            "application/json",
            400,
            "lone_surrogate",
            "/inspector",
        ),
        (json.dumps({**good, "notes": "a\u0000b"}).encode(), "application/json", 400, "nul_character", "/notes"),
        (b'{"score": 4, "score": 5}', "application/json", 400, "duplicate_key", "/score"),
        (json.dumps(good).encode("utf-8"), "application/json; charset=latin-1", 415, "unsupported_charset", None),
        (
            json.dumps({**good, "inspector": "\u202e科勤后"}).encode(),
            "application/json",
            422,
            "validation_failed",
            "/inspector",
        ),
        (
            json.dumps({**good, "inspector": "\u200b\u200b"}).encode(),
            "application/json",
            422,
            "validation_failed",
            "/inspector",
        ),
        (json.dumps({**good, "notes": "好\x07"}).encode(), "application/json", 422, "validation_failed", "/notes"),
    ]
    for raw, ctype, status, code, path in cases:
        resp = client.post(url, data=raw, headers={**admin, "Content-Type": ctype})
        assert resp.status_code == status, (raw[:60], resp.json)
        assert resp.json["error"]["code"] == code
        if path is not None:
            assert path in [d["path"] for d in resp.json["error"]["details"]]
    assert count(session, Inspection) == 0
    ok = client.post(url, json={**good, "notes": "东侧围墙\r\n\t已整改"}, headers=admin)  # multi-line notes
    assert ok.status_code == 201, ok.json


def test_lock_note_and_settings_bodies(client: Any, session: Any, county: Any) -> None:
    admin = bearer(session)
    url = "/api/v1/periods/610528/2026-09/lock"
    audits = count(session, AuditEntry)
    cases = [
        (DEEP, "application/json", 400, "nesting_too_deep", None),
        (b'{"note": "\\u0000"}', "application/json", 400, "nul_character", "/note"),
        (b'{"note": "\\udc00"}', "application/json", 400, "lone_surrogate", "/note"),
        (b'{"note": "a", "note": "b"}', "application/json", 400, "duplicate_key", "/note"),
        (b'{"note": "a"}', "text/plain", 415, "unsupported_media_type", None),
        ('{"note": "审核\\u0007"}'.encode(), "application/json", 422, "validation_failed", "/note"),
        ('{"note": "审核\u2067通过"}'.encode(), "application/json", 422, "validation_failed", "/note"),
    ]
    for raw, ctype, status, code, path in cases:
        resp = client.post(url, data=raw, headers={**admin, "Content-Type": ctype})
        assert resp.status_code == status, (raw[:40], resp.json)
        assert resp.json["error"]["code"] == code
        if path is not None:
            assert resp.json["error"]["details"][0]["path"] == path
    assert count(session, PeriodApproval) == 0 and count(session, AuditEntry) == audits
    resp = client.put(
        "/api/v1/counties/610528/settings",
        headers={**admin, "Content-Type": "application/json"},
        data=b'{"reporting_start": "2026-09", "reporting_start": null}',
    )
    assert resp.status_code == 400 and resp.json["error"]["code"] == "duplicate_key"
    resp = client.put(
        "/api/v1/counties/610528/settings", headers={**admin, "Content-Type": "application/json"}, data=DEEP
    )
    assert resp.status_code == 400 and resp.json["error"]["code"] == "nesting_too_deep"
    assert count(session, AuditEntry) == audits
    ok = client.post(url, json={"note": "审核通过\n第二行"}, headers=admin)
    assert ok.status_code == 200 and ok.json["history"][-1]["note"] == "审核通过\n第二行"


def test_pdf_job_bodies(client: Any, session: Any, county: Any) -> None:
    from district.rendering.models import PdfJob

    admin = bearer(session)
    url = "/api/v1/counties/610528/reports/pdf"
    for raw, status, code in ((DEEP, 400, "nesting_too_deep"), (b'{"school": "\\ud800"}', 400, "lone_surrogate"),
                              (b'{"year": 2026, "year": 2025}', 400, "duplicate_key")):  # fmt: skip
        resp = client.post(url, data=raw, headers={**admin, "Content-Type": "application/json"})
        assert resp.status_code == status, resp.json
        assert resp.json["error"]["code"] == code
    assert count(session, PdfJob) == 0


# ---------------------------------------------------------------- 4. ids in paths and queries


def test_ids_in_paths_and_queries_are_ascii_digits_within_32_bits(client: Any, session: Any, county: Any) -> None:
    admin = bearer(session)
    for path in (
        "/api/v1/jobs/99999999999999999999",
        "/api/v1/jobs/2147483648",
        "/api/v1/jobs/１２",
        "/api/v1/jobs/%C2%B2",
        "/api/v1/jobs/0",
        "/api/v1/jobs/99999999999999999999/files/a.pdf",
    ):
        resp = client.get(path, headers=admin)
        assert resp.status_code == 404, path
        assert resp.json["error"]["code"] == "not_found"
    base = "/api/v1/counties/610528/rankings?snapshot="
    for raw, status, code in (
        ("²", 400, "invalid_snapshot"),
        ("１２", 400, "invalid_snapshot"),
        ("+1", 400, "invalid_snapshot"),
        ("1_0", 400, "invalid_snapshot"),
        ("99999999999999999999", 404, "not_found"),
        ("2147483648", 404, "not_found"),
    ):
        resp = client.get(base + raw, headers=admin)
        assert resp.status_code == status, raw
        assert resp.json["error"]["code"] == code
    resp = client.get("/api/v1/schools/6105280001/score?snapshot=²", headers=admin)
    assert resp.status_code == 400 and resp.json["error"]["code"] == "invalid_snapshot"
