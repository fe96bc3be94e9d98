"""Ingestion rules: authenticate a signed agent request, validate, store a revision, answer with a receipt.

Order of checks (each failure leaves only a rejection-log row): size (413) → signature (401) → rate (429) →
media type (415) → JSON (415) → signer's school (403) → the standard's rules (422) → idempotency (200 / 409) →
period lock (409) → new revision (201).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from district.audit.chain import genesis, revision_link
from district.audit.services import record
from district.db import utcnow
from district.registry.crypto import SecretBox
from district.registry.models import County, Credential, School
from district.reports.models import (
    HazardEntry,
    PeriodApproval,
    Rejection,
    ReportHead,
    ReportRevision,
    SeenSignature,
)
from houqin_standard import (
    SHANGHAI,
    canonical_json,
    content_sha256,
    period_add,
    period_deadline,
    validate_report,
    verify_signature,
)


class IngestError(Exception):
    """A refusal with its HTTP status and stable code; ``details`` are ``{path, code, message}`` items."""

    def __init__(
        self,
        status: int,
        code: str,
        zh: str,
        en: str,
        details: list[dict[str, str]] | None = None,
        *,
        school_code: str | None = None,
        report_id: str | None = None,
        period: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en
        self.details = details or []
        self.school_code, self.report_id, self.period = school_code, report_id, period
        self.headers = headers or {}

    def message(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass
class Receipt:
    report_id: str
    school_code: str
    period: str
    revision: int
    received_at: dt.datetime
    on_time: bool
    content_sha256: str
    warnings: list[dict[str, str]]
    chain_hash: str
    hub_key_id: str | None = None
    signature: str | None = None

    def signed_fields(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "school_code": self.school_code,
            "period": self.period,
            "revision": self.revision,
            "received_at": self.received_at.astimezone(SHANGHAI).isoformat(timespec="microseconds"),
            "on_time": self.on_time,
            "content_sha256": self.content_sha256,
            "chain_hash": self.chain_hash,
            "hub_key_id": self.hub_key_id,
        }

    def sign(self, keys: Any) -> Receipt:
        """Sign with the hub's current Ed25519 key (district.audit.keys)."""
        from district.audit.keys import receipt_payload

        self.hub_key_id = keys.current_id
        self.signature = keys.sign(receipt_payload(self.signed_fields()))
        return self

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        out = self.signed_fields()
        out["warnings"] = [_issue_dict(w, lang) for w in self.warnings]
        out["signature"] = self.signature
        return out


def _issue_dict(stored: dict[str, str], lang: str) -> dict[str, str]:
    return {
        "path": stored["path"],
        "code": stored["code"],
        "message": stored.get("en" if lang == "en" else "zh", stored.get("zh", "")),
    }


# ---------------------------------------------------------------- authentication


def authenticate(
    session: Session,
    box: SecretBox,
    *,
    school_header: str | None,
    timestamp_header: str | None,
    signature_header: str | None,
    method: str,
    path_with_query: str,
    body: bytes,
    window_seconds: int = 300,
    now: float | None = None,
) -> tuple[School, int]:
    """Check the signature headers of API.md; returns the signer's school and credential id.

    The signature is recorded as seen (in the caller's transaction) so the same request cannot be replayed
    inside the window; the caller commits it even when the request is later refused for another reason.
    """
    now = utcnow().timestamp() if now is None else now
    if not school_header or not timestamp_header or not signature_header:
        raise IngestError(
            401,
            "missing_signature",
            "缺少签名请求头 X-Houqin-School / X-Houqin-Timestamp / X-Houqin-Signature",
            "missing signature headers",
        )
    try:
        ts = int(timestamp_header)
    except ValueError:
        raise IngestError(
            401,
            "bad_timestamp",
            "X-Houqin-Timestamp 必须是 Unix 秒数",
            "X-Houqin-Timestamp must be unix seconds",
            school_code=school_header,
        ) from None
    if abs(now - ts) > window_seconds:
        raise IngestError(
            401,
            "stale_timestamp",
            f"请求时间戳与服务器时间相差超过 {window_seconds} 秒，请校准电脑时间",
            f"timestamp is more than {window_seconds} s from the hub's clock",
            school_code=school_header,
        )
    # the school and its active credential (the newest unrevoked one, as registry.active_credential) in one query
    row = (
        session.execute(
            select(School, Credential)
            .join(Credential, Credential.school_code == School.code)
            .where(School.code == school_header, Credential.revoked_at.is_(None))
            .order_by(Credential.id.desc())
            .limit(1)
        ).first()
        if len(school_header) == 10
        else None
    )
    school, cred = row if row is not None else (None, None)
    if school is None or cred is None:
        raise IngestError(
            401,
            "unknown_school",
            "学校未登记或没有有效的凭据",
            "unknown school or no active credential",
            school_code=None,
        )
    secret = box.open(cred.secret_encrypted)
    if not verify_signature(secret, timestamp_header, method, path_with_query, body, signature_header.lower()):
        raise IngestError(
            401, "bad_signature", "签名无效（凭据错误或已轮换）", "bad signature", school_code=school.code
        )
    # A replay is refused by the primary key of seen_signatures (no SELECT first: one round trip less per
    # request, and the same answer for a replay and for a concurrent twin of the request).
    code, cred_id = school.code, cred.id
    session.add(SeenSignature(signature=signature_header.lower(), seen_at=utcnow()))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # nothing else was written yet in this transaction
        raise IngestError(401, "replay", "重复的请求（重放）已被拒绝", "replayed request", school_code=code) from None
    return school, cred_id


def prune_seen_signatures(session: Session, window_seconds: int = 300) -> int:
    cutoff = utcnow() - dt.timedelta(seconds=2 * window_seconds)
    rows = session.query(SeenSignature).filter(SeenSignature.seen_at < cutoff).delete()
    return int(rows)


# ---------------------------------------------------------------- submission


def parse_body(body: bytes, content_type: str | None) -> Any:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime != "application/json":
        raise IngestError(
            415,
            "unsupported_media_type",
            "请求体必须是 JSON（Content-Type: application/json）",
            "the body must be JSON (Content-Type: application/json)",
        )
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(
            415, "malformed_json", f"请求体不是有效的 JSON：{exc}", f"the body is not valid JSON: {exc}"
        ) from None


def period_locked(session: Session, county_code: str, period: str) -> bool:
    last = session.scalars(
        select(PeriodApproval.action)
        .where(PeriodApproval.county_code == county_code, PeriodApproval.period == period)
        .order_by(PeriodApproval.id.desc())
        .limit(1)
    ).first()
    return last == "lock"


def effective_report(session: Session, school_code: str, period: str) -> ReportRevision | None:
    return session.scalars(
        select(ReportRevision)
        .join(ReportHead, ReportHead.revision_id == ReportRevision.id)
        .where(ReportHead.school_code == school_code, ReportHead.period == period)
    ).first()


def receipt_for(session: Session, rev: ReportRevision) -> Receipt:
    return _receipt(rev, session.get(ReportHead, (rev.school_code, rev.period)))


def _receipt(rev: ReportRevision, head: ReportHead | None) -> Receipt:
    """``on_time`` is the school's timeliness for the period (the head's), the revision's own without a head."""
    return Receipt(
        report_id=rev.report_id,
        school_code=rev.school_code,
        period=rev.period,
        revision=rev.revision,
        received_at=rev.received_at,
        on_time=head.on_time if head else rev.on_time,
        content_sha256=rev.content_sha256,
        warnings=list(rev.warnings or []),
        chain_hash=rev.chain_hash,
    )


def submit_report(
    session: Session,
    school: School,
    credential_id: int,
    data: Any,
    *,
    now: dt.datetime | None = None,
) -> tuple[Receipt, bool]:
    """Store ``data`` as a new revision, or return the receipt of the identical earlier submission.

    Returns ``(receipt, created)``. Raises :class:`IngestError` (403, 409, 422). Flushes; the caller commits.
    """
    now = now or utcnow()
    if isinstance(data, dict) and isinstance(data.get("school_code"), str) and data["school_code"] != school.code:
        raise IngestError(
            403,
            "school_mismatch",
            "报表中的学校标识码与签名学校不一致",
            "school_code in the body is not the signer's school",
            school_code=school.code,
            report_id=_str_or_none(data.get("report_id")),
        )
    period_hint = data.get("period") if isinstance(data, dict) and isinstance(data.get("period"), str) else None
    previous = None
    if period_hint and len(period_hint) == 7:
        try:
            prev_rev = effective_report(session, school.code, period_add(period_hint, -1))
        except ValueError:
            prev_rev = None
        previous = json.loads(prev_rev.content) if prev_rev else None
    result = validate_report(data, today=now.astimezone(SHANGHAI).date(), previous=previous)
    if result.errors:
        raise IngestError(
            422,
            "validation_failed",
            f"报表有 {len(result.errors)} 处错误",
            f"the report has {len(result.errors)} errors",
            details=[{"path": e.path, "code": e.code, "zh": e.zh, "en": e.en} for e in result.errors],
            school_code=school.code,
            report_id=_str_or_none(data.get("report_id")),
            period=period_hint,
        )
    report_id = data["report_id"].lower()
    period = data["period"]
    digest = content_sha256(data)
    existing = session.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id)).first()
    if existing is not None:
        if existing.content_sha256 == digest and existing.school_code == school.code:
            return receipt_for(session, existing), False
        raise IngestError(
            409,
            "report_id_conflict",
            "同一 report_id 已提交过不同的内容；修改报表请使用新的 report_id",
            "this report_id was already used with other content",
            school_code=school.code,
            report_id=report_id,
            period=period,
        )
    # serialise revisions of one school (PostgreSQL row lock; SQLite serialises writers anyway), reading the
    # county's deadline day in the same statement
    deadline_day = session.execute(
        select(County.deadline_day)
        .join(School, School.county_code == County.code)
        .where(School.code == school.code)
        .with_for_update(of=School)
    ).scalar_one()
    if period_locked(session, school.county_code, period):
        raise IngestError(
            409,
            "period_locked",
            f"{period} 已由教育局审核锁定，暂不接受新的修订",
            f"period {period} is locked by the bureau",
            school_code=school.code,
            report_id=report_id,
            period=period,
        )
    head = session.get(ReportHead, (school.code, period))
    revision_no = (head.revisions + 1) if head else 1
    on_time_now = now <= period_deadline(period, deadline_day)
    warnings = [{"path": w.path, "code": w.code, "zh": w.zh, "en": w.en} for w in result.warnings]
    last_link = session.execute(
        select(ReportRevision.chain_seq, ReportRevision.chain_hash)
        .where(ReportRevision.school_code == school.code)
        .order_by(ReportRevision.chain_seq.desc())
        .limit(1)
    ).first()
    prev_hash = last_link[1] if last_link else genesis(school.code)
    rev = ReportRevision(
        report_id=report_id,
        school_code=school.code,
        period=period,
        revision=revision_no,
        received_at=now,
        signer=f"credential:{credential_id}",
        content=canonical_json(data).decode("utf-8"),
        content_sha256=digest,
        warnings=warnings,
        on_time=on_time_now,
        chain_seq=(last_link[0] + 1) if last_link else 1,
        prev_chain_hash=prev_hash,
        chain_hash=revision_link(prev_hash, digest, report_id, period, revision_no, now),
    )
    session.add(rev)
    session.flush()
    if head is None:
        head = ReportHead(
            school_code=school.code,
            period=period,
            county_code=school.county_code,
            revision_id=rev.id,
            revisions=1,
            first_received_at=now,
            on_time=on_time_now,
        )
        session.add(head)
    else:
        head.revision_id = rev.id
        head.revisions = revision_no
    hazards = [
        {
            "revision_id": rev.id,
            "school_code": school.code,
            "period": period,
            "ref": h["ref"],
            "found_on": dt.date.fromisoformat(h["found_on"]),
            "category": h["category"],
            "severity": h["severity"],
            "description": h["description"],
            "deadline": dt.date.fromisoformat(h["deadline"]),
            "rectified_on": dt.date.fromisoformat(h["rectified_on"]) if h.get("rectified_on") else None,
        }
        for h in data.get("hazards", [])
    ]
    if hazards:
        session.execute(insert(HazardEntry), hazards)
    record(
        session,
        actor=f"school:{school.code}",
        action="report.accepted",
        county_code=school.county_code,
        school_code=school.code,
        report_id=report_id,
        period=period,
        revision=revision_no,
        content_sha256=digest,
    )
    session.flush()
    return _receipt(rev, head), True


def log_rejection(session: Session, err: IngestError, *, remote_addr: str | None) -> None:
    details = [{"path": d.get("path", ""), "code": d.get("code", "")} for d in err.details]
    session.add(
        Rejection(
            received_at=utcnow(),
            school_code=err.school_code,
            report_id=err.report_id,
            period=err.period,
            status=err.status,
            code=err.code,
            details=details,
            remote_addr=remote_addr,
        )
    )
    record(
        session,
        actor=f"school:{err.school_code}" if err.school_code else "anonymous",
        action="report.rejected",
        school_code=err.school_code,
        status=err.status,
        code=err.code,
        report_id=err.report_id,
    )


def _str_or_none(v: Any) -> str | None:
    return v[:64] if isinstance(v, str) else None


# ---------------------------------------------------------------- listeners (run after commit)

RevisionListener = Callable[[str, str, str], None]  # (county_code, school_code, period)
_revision_listeners: list[RevisionListener] = []


def on_revision_accepted(fn: RevisionListener) -> RevisionListener:
    """Register a callback run AFTER the revision's transaction committed (e.g. enqueue a ranking recompute)."""
    _revision_listeners.append(fn)
    return fn


def notify_revision_accepted(county_code: str, school_code: str, period: str) -> None:
    for fn in _revision_listeners:
        fn(county_code, school_code, period)


def revision_count(session: Session, school_code: str, period: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ReportRevision)
            .where(ReportRevision.school_code == school_code, ReportRevision.period == period)
        )
        or 0
    )
