"""Ingestion rules: authenticate a signed agent request, validate, store a revision, answer with a receipt.

Order of checks (each failure leaves only a rejection-log row): size (413) → signature (401) → rate (429) →
the body (415 / 400, ``district.web.body``) → signer's school (403) → the standard's rules (422) → idempotency
(200 / 409) → period lock (409) → new revision (201). A report's identical re-send (same report_id, school and
content) is answered with the receipt it had (200) before the rules of the standard and the county's standard
requirement are applied again: a report is judged once, by the rules of when it arrived.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from district import calendar
from district.audit.chain import genesis, revision_link
from district.audit.services import record
from district.db import utcnow
from district.duties import services as duties
from district.registry.crypto import SecretBox
from district.registry.models import County, School
from district.reports.figures import STORED_PREFIXES, figures_json
from district.reports.models import (
    Rejection,
    ReportHead,
    ReportRevision,
    SeenSignature,
)
from district.reports.standards import required_version_of, version_refusal
from district.reports.store import AUTH, Context, ReportStore, Writes, context_params, latest_approval_act, store_for
from houqin_standard import (
    SHANGHAI,
    STANDARD_ID_2,
    canonical_json,
    normalize_signature,
    parse_timestamp,
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
        self.signer: Signer | None = None  # set by ``ingest`` when a valid signature vouches for the request

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


class SchoolKey(NamedTuple):
    """What the submission path needs of a school (the authentication reads no more for it)."""

    code: str
    county_code: str


@dataclass
class Signer:
    """Who signed a request: the school, the credential, the county's deadline day, the signature."""

    school: School | SchoolKey
    credential_id: int
    deadline_day: int
    signature: str
    context: Context | None = None  # read with the signer when the caller named the report (``about``)


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
    about: tuple[str, str] | None = None,
    record_seen: bool = True,
    store: ReportStore | None = None,
) -> Signer:
    """Check the signature headers of API.md; returns the signer (school, credential id, deadline day).

    A signature already seen inside the window is a replay (401). With ``record_seen`` the signature is
    recorded as seen at once (in the caller's transaction, which commits it even when the request is later
    refused); without, the caller records it: ``submit_report`` in its own writes, a refusal by
    :func:`record_seen`. A concurrent twin is refused by the primary key of ``seen_signatures`` either way.

    ``about`` = (period, report_id) as the body claims them: the same statement then also reads what
    ``submit_report`` checks for that report (:class:`Context`), saving the hub a round trip per report; it is
    read by ``store`` (the request's :class:`~district.reports.store.ReportStore`).
    """
    now = utcnow().timestamp() if now is None else now
    if not school_header or not timestamp_header or not signature_header:
        raise IngestError(
            401,
            "missing_signature",
            "缺少签名请求头 X-Houqin-School / X-Houqin-Timestamp / X-Houqin-Signature",
            "missing signature headers",
        )
    # each header read once, in its one spelling: the school as 10 ASCII digits, the timestamp as ASCII
    # digits, the signature as 64 hex digits lower-cased; that spelling is what is verified, looked up as
    # seen and remembered, so no other spelling of a captured request is "new" (docs/DECISIONS.md)
    claimed = school_header if _SCHOOL_CODE.fullmatch(school_header) else None
    ts = parse_timestamp(timestamp_header)
    if ts is None:
        raise IngestError(
            401,
            "bad_timestamp",
            "X-Houqin-Timestamp 必须是 Unix 秒数（仅限 ASCII 数字）",
            "X-Houqin-Timestamp must be unix seconds (ASCII digits only)",
            school_code=claimed,
        )
    if abs(now - ts) > window_seconds:
        raise IngestError(
            401,
            "stale_timestamp",
            f"请求时间戳与服务器时间相差超过 {window_seconds} 秒，请校准电脑时间",
            f"timestamp is more than {window_seconds} s from the hub's clock",
            school_code=claimed,
        )
    signature = normalize_signature(signature_header)
    if signature is None:
        raise IngestError(
            401,
            "bad_signature",
            "签名格式无效（应为 64 位十六进制数）",
            "bad signature (not 64 hex digits)",
            school_code=claimed,
        )
    # the school, its active credential (the newest unrevoked one, as registry.active_credential), the county's
    # deadline day and whether the signature was seen (and with ``about``, the report's context): one query
    row: Sequence[Any] | None = None
    if claimed is not None:
        params = {"code": claimed, "school": claimed, "signature": signature}
        if about is None:
            row = session.execute(AUTH, params).first()
        else:  # the submission's path: plain columns, no ORM entity (the school as a SchoolKey)
            params.update(context_params(*about))
            found = (store or store_for(session.get_bind())).signer_context(session, params)
            row = None if found is None else (SchoolKey(found[0], found[1]), *found[2:])
    if row is None:
        raise IngestError(
            401,
            "unknown_school",
            "学校未登记或没有有效的凭据",
            "unknown school or no active credential",
            school_code=None,
        )
    school, cred_id, secret_encrypted, deadline_day, seen = row[:5]
    context = None if about is None else Context(about[0], about[1].lower(), *row[5:])
    secret = box.open(secret_encrypted)
    if not verify_signature(secret, timestamp_header, method, path_with_query, body, signature):
        raise IngestError(
            401, "bad_signature", "签名无效（凭据错误或已轮换）", "bad signature", school_code=school.code
        )
    code = school.code
    if seen:
        raise IngestError(401, "replay", "重复的请求（重放）已被拒绝", "replayed request", school_code=code)
    if record_seen:
        # the primary key of seen_signatures refuses a concurrent twin of this request
        session.add(SeenSignature(signature=signature, seen_at=utcnow()))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # nothing else was written yet in this transaction
            raise IngestError(
                401, "replay", "重复的请求（重放）已被拒绝", "replayed request", school_code=code
            ) from None
    return Signer(school, cred_id, deadline_day, signature, context)


_SCHOOL_CODE = re.compile(r"[0-9]{10}", re.ASCII)


def record_seen(session: Session, signature: str, at: dt.datetime, store: ReportStore | None = None) -> None:
    """Keep a verified signature as seen (a refused request's), unless a concurrent twin already did."""
    (store or store_for(session.get_bind())).record_seen(session, signature, at)


def prune_seen_signatures(session: Session, window_seconds: int = 300) -> int:
    cutoff = utcnow() - dt.timedelta(seconds=2 * window_seconds)
    rows = session.query(SeenSignature).filter(SeenSignature.seen_at < cutoff).delete()
    return int(rows)


# ---------------------------------------------------------------- submission


_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_PERIOD_HINT = re.compile(rb'"period"\s*:\s*"([0-9]{4}-[0-9]{2})"')
_REPORT_ID_HINT = re.compile(rb'"report_id"\s*:\s*"([0-9A-Za-z-]{1,64})"')


def claimed_report(body: bytes) -> tuple[str, str] | None:
    """The (period, report_id) the raw body seems to state, found without parsing it: read before the signature
    is checked, so the authentication can read the report's context in its one statement, and an unsigned
    request costs no JSON parsing. Only a hint: ``submit_report`` compares it with the parsed report and reads
    the context again when they differ."""
    period, report_id = _PERIOD_HINT.search(body), _REPORT_ID_HINT.search(body)
    if period is None or report_id is None:
        return None
    return period.group(1).decode("ascii"), report_id.group(1).decode("ascii")


def period_locked(session: Session, county_code: str, period: str) -> bool:
    return session.scalars(latest_approval_act(county_code, period)).first() == "lock"


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


def _identical_earlier(
    session: Session,
    store: ReportStore,
    ctx: Context,
    school: School | SchoolKey,
    data: Any,
    signature: str | None,
    now: dt.datetime,
) -> Receipt | None:
    """The receipt of this very report when it was stored before (same report_id, school and content), else
    None: an identical re-send is answered with its receipt whatever the rules say of it today."""
    if ctx.existing_school != school.code or ctx.existing_sha256 is None:
        return None
    try:
        digest = hashlib.sha256(canonical_json(data)).hexdigest()
    except (TypeError, ValueError):  # not even canonical JSON: not the stored report
        return None
    if digest != ctx.existing_sha256:
        return None
    if signature is not None:
        store.record_seen(session, signature, now)
    report_id = str(data["report_id"]).lower()
    existing = session.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id)).one()
    return receipt_for(session, existing)


def submit_report(
    session: Session,
    school: School | SchoolKey,
    credential_id: int,
    data: Any,
    *,
    now: dt.datetime | None = None,
    deadline_day: int | None = None,
    signature: str | None = None,
    context: Context | None = None,
    signer: str | None = None,
    store: ReportStore | None = None,
) -> tuple[Receipt, bool]:
    """Store ``data`` as a new revision, or return the receipt of the identical earlier submission.

    Returns ``(receipt, created)``. Raises :class:`IngestError` (403, 409, 422). The caller commits.
    ``deadline_day`` and ``context`` (from :func:`authenticate`) save reading them again; ``signature``,
    when given, is recorded as seen with the revision. ``signer`` is what the revision records as its signer:
    ``credential:<credential_id>`` by default (a signed agent request), ``web:<username>`` for a school clerk's
    web submission (``district/submission``), which passes through exactly these rules.

    Revisions of one school are serialised by the unique constraints, not by a lock: a report that lost a
    race with another revision of its school (the same chain position, revision number or report_id) fails
    at its write with an IntegrityError, nothing of it is kept, and the HTTP edge runs it again against the
    committed state. ``store`` (:mod:`district.reports.store`; the bind's by default) reads and writes: on
    PostgreSQL a report costs the hub two statements, the authentication, which also reads everything below
    (:class:`Context`), and the writes, in autocommit on the worker's own connection (docs/PERFORMANCE.md).
    """
    now = now or utcnow()
    store = store or store_for(session.get_bind())
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
    id_hint = data.get("report_id") if isinstance(data, dict) and isinstance(data.get("report_id"), str) else None
    if deadline_day is None:
        deadline_day = session.execute(
            select(County.deadline_day).where(County.code == school.county_code)
        ).scalar_one()
    # everything the checks below read, in one statement (for a report that turns out invalid the read is
    # wasted: one statement, and the 422 answer does not wait for more)
    ctx = context
    if ctx is None or ctx.period != (period_hint or "") or ctx.report_id != (id_hint or "").lower():
        params = {"school": school.code, **context_params(period_hint or "", id_hint or "")}
        ctx = Context(period_hint or "", (id_hint or "").lower(), *store.context(session, params))
    previous = json.loads(ctx.previous_content) if ctx.previous_content else None
    # a @2 report's calendar.tasks are judged by the county's 后勤行事历 in force now, for the period's month
    calendar_in_force, calendar_codes = None, None
    if isinstance(data, dict) and data.get("standard") == STANDARD_ID_2 and _PERIOD.fullmatch(period_hint or ""):
        calendar_in_force = duties.calendar_by_version(session, ctx.calendar_version_id)
        calendar_codes = calendar_in_force.codes_of(duties.month_of(period_hint or ""))
    result = validate_report(
        data, today=now.astimezone(SHANGHAI).date(), previous=previous, calendar_codes=calendar_codes
    )
    if result.errors:
        # a report accepted before is judged as it was then: its identical re-send (an agent that lost the
        # receipt) gets that receipt even when a rule's basis has moved since (a new 行事历 without one of its
        # task codes); any other invalid report is refused
        earlier = _identical_earlier(session, store, ctx, school, data, signature, now)
        if earlier is not None:
            return earlier, False
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
    required = required_version_of(ctx.require_standard, ctx.require_standard_from, period)
    refusal = (
        None if required == 1 else version_refusal(required, ctx.require_standard_from or "", period, data["standard"])
    )
    if refusal is not None:
        earlier = _identical_earlier(session, store, ctx, school, data, signature, now)  # stored before the requirement
        if earlier is not None:
            return earlier, False
        raise IngestError(
            422,
            "standard_version_required",
            refusal[0],
            refusal[1],
            details=[{"path": "/standard", "code": "standard_version_required", "zh": refusal[0], "en": refusal[1]}],
            school_code=school.code,
            report_id=report_id,
            period=period,
        )
    canonical = canonical_json(data)
    digest = hashlib.sha256(canonical).hexdigest()  # content_sha256(data), the canonical form made once
    if ctx.existing_school is not None:
        if ctx.existing_sha256 == digest and ctx.existing_school == school.code:
            if signature is not None:
                store.record_seen(session, signature, now)
            existing = session.scalars(select(ReportRevision).where(ReportRevision.report_id == report_id)).one()
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
    if not calendar.in_active_range(ctx.school_opened, ctx.school_closed, period):
        # a closed school, or one not yet opened, reports nothing for a month outside its dates (an identical
        # earlier submission above still gets its receipt: it was stored before the dates were recorded)
        opened, closed = ctx.school_opened, ctx.school_closed
        raise IngestError(
            403,
            "school_inactive",
            f"{period} 不在本校的办学期间内（按教育局登记：{calendar.active_range_zh(opened, closed)}），"
            "平台不接收这个月的报表；如登记有误，请联系教育局更正学校名册",
            f"period {period} is outside the school's active range "
            f"({opened.isoformat() if opened else '…'} .. {closed.isoformat() if closed else '…'})",
            school_code=school.code,
            report_id=report_id,
            period=period,
        )
    if ctx.lock_action == "lock":
        raise IngestError(
            409,
            "period_locked",
            f"{period} 已由教育局审核锁定，暂不接受新的修订",
            f"period {period} is locked by the bureau",
            school_code=school.code,
            report_id=report_id,
            period=period,
        )
    revision_no = (ctx.head_revisions + 1) if ctx.head_revisions else 1
    on_time_now = now <= period_deadline(period, deadline_day)
    prev_hash = ctx.last_chain_hash if ctx.last_chain_hash else genesis(school.code)
    chain_hash = revision_link(prev_hash, digest, report_id, period, revision_no, now)
    revision = {
        "report_id": report_id,
        "school_code": school.code,
        "period": period,
        "revision": revision_no,
        "received_at": now,
        "signer": signer or f"credential:{credential_id}",
        "content": canonical.decode("utf-8"),
        "content_sha256": digest,
        "warnings": [{"path": w.path, "code": w.code, "zh": w.zh, "en": w.en} for w in result.warnings],
        "on_time": on_time_now,
        "chain_seq": (ctx.last_chain_seq or 0) + 1,
        "prev_chain_hash": prev_hash,
        "chain_hash": chain_hash,
        "calendar_version_id": None if calendar_in_force is None else calendar_in_force.version_id,
    }
    hazards = [
        {
            "ref": h["ref"],
            "found_on": h["found_on"],
            "category": h["category"],
            "severity": h["severity"],
            "description": h["description"],
            "deadline": h["deadline"],
            "rectified_on": h.get("rectified_on") or None,
        }
        for h in data.get("hazards", [])
    ]
    audit = {  # what audit.services.record keeps of an accepted revision (not chained: the revision is)
        "at": now,
        "actor": f"school:{school.code}",
        "action": "report.accepted",
        "county_code": school.county_code,
        "school_code": school.code,
        "details": {"report_id": report_id, "period": period, "revision": revision_no, "content_sha256": digest},
    }
    writes = Writes(
        school.county_code, revision, ctx.head_revisions is not None, hazards, audit, signature, figures_json(data)
    )
    store.write(session, writes)
    receipt = Receipt(
        report_id=report_id,
        school_code=school.code,
        period=period,
        revision=revision_no,
        received_at=now,
        on_time=ctx.head_on_time if ctx.head_on_time is not None else on_time_now,
        content_sha256=digest,
        warnings=revision["warnings"],
        chain_hash=chain_hash,
    )
    return receipt, True


def log_rejection(
    session: Session,
    err: IngestError,
    *,
    remote_addr: str | None,
    count: int = 1,
    at: dt.datetime | None = None,
) -> None:
    """The trace of a refused request: a ``rejections`` row and a ``report.rejected`` audit entry. ``count`` > 1
    stands for that many refusals alike (same minute, address, claimed school, status and code), the last at
    ``at``: an unsigned flood is logged aggregated (district/api/refusals.py)."""
    details = [{"path": d.get("path", ""), "code": d.get("code", "")} for d in err.details]
    session.add(
        Rejection(
            received_at=at or utcnow(),
            school_code=err.school_code,
            report_id=err.report_id,
            period=err.period,
            status=err.status,
            code=err.code,
            details=details,
            remote_addr=remote_addr,
            count=count,
        )
    )
    extra: dict[str, Any] = {"count": count} if count != 1 else {}
    record(
        session,
        actor=f"school:{err.school_code}" if err.school_code else "anonymous",
        action="report.rejected",
        school_code=err.school_code,
        status=err.status,
        code=err.code,
        report_id=err.report_id,
        **extra,
    )


def _str_or_none(v: Any) -> str | None:
    return v[:64] if isinstance(v, str) else None


# ---------------------------------------------------------------- listeners (run after commit)

RevisionListener = Callable[[str, str, str], None]  # (county_code, school_code, period)
_revision_listeners: list[RevisionListener] = []


def on_revision_accepted(fn: RevisionListener) -> RevisionListener:
    """Register a callback run AFTER the revision's transaction committed (e.g. enqueue a ranking recompute);
    ``create_app`` registers the hub's own (``district/app.py``). A callback registered again is kept once."""
    if fn not in _revision_listeners:
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


# ---------------------------------------------------------------- figures (derived, see reports.figures)


def heads_without_figures(session: Session) -> list[tuple[str, str]]:
    """(school, period) of the heads with no stored figures of the current layout (written by other means than
    ``submit_report``, or before the layout changed), in order."""
    return [
        (school_code, period)
        for school_code, period in session.execute(
            select(ReportHead.school_code, ReportHead.period)
            .where(
                or_(
                    ReportHead.figures.is_(None),
                    and_(*(~ReportHead.figures.startswith(p, autoescape=True) for p in STORED_PREFIXES)),
                )
            )
            .order_by(ReportHead.school_code, ReportHead.period)
        )
    ]


def store_figures(session: Session, heads: Sequence[tuple[str, str]]) -> int:
    """Store the figures of the effective revision of each (school, period) of ``heads`` on its head, made from
    its content by ``figures_json`` as at ingestion; returns how many. Only the derived heads change."""
    done = 0
    for head, content in session.execute(
        select(ReportHead, ReportRevision.content)
        .join(ReportRevision, ReportRevision.id == ReportHead.revision_id)
        .where(tuple_(ReportHead.school_code, ReportHead.period).in_(list(heads)))
    ):
        head.figures = figures_json(json.loads(content))
        done += 1
    session.flush()
    return done
