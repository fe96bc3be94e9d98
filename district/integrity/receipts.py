"""Checking a school's receipts against the hub's keys and its chain (``houqin audit verify-receipt``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from district.reports.models import ReportRevision
from district.reports.services import receipt_for
from houqin_standard import ReceiptError, verify_receipt


def check_receipts(
    session: Session, receipts: Sequence[Mapping[str, Any]], keys: Mapping[str, bytes]
) -> list[tuple[Mapping[str, Any], str]]:
    """Return (receipt, problem) for each receipt that is forged or that the hub's chain contradicts."""
    problems: list[tuple[Mapping[str, Any], str]] = []
    for r in receipts:
        try:
            verify_receipt(r, keys)
        except ReceiptError as exc:
            problems.append((r, f"{exc.code}: {exc}"))
            continue
        rev = session.scalars(select(ReportRevision).where(ReportRevision.report_id == r["report_id"])).first()
        if rev is None:
            problems.append((r, "validly signed, but the hub has no such revision: a row was deleted"))
            continue
        stored = receipt_for(session, rev).signed_fields()
        diff = [
            k
            for k in ("school_code", "period", "revision", "received_at", "content_sha256", "chain_hash")
            if stored[k] != r[k]
        ]
        if diff:
            problems.append((r, "validly signed, but the hub's records now differ in " + ", ".join(diff)))
    return problems
