"""Tamper evidence: every kind of tampering done directly in SQL is found and the row named; forged
receipts are refused; a school's chain never forks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from district import clock
from district.audit.models import AuditEntry
from district.integrity.verify import verify
from district.reports.models import ReportRevision
from houqin_standard import ReceiptError, verify_receipt
from tests.conftest import SignedClient, example_report


def submit_three(agent: SignedClient) -> list[dict[str, Any]]:
    receipts = []
    for i, period in enumerate(["2026-09", "2026-09", "2026-10"]):
        ts = int(clock.now().timestamp()) + i
        resp = agent.post_report(example_report(period=period, prepared_by=f"李总务{i}"), ts=ts)
        assert resp.status_code == 201, resp.json
        receipts.append(resp.json)
    return receipts


def revs(session: Any) -> list[ReportRevision]:
    return list(session.scalars(select(ReportRevision).order_by(ReportRevision.chain_seq)))


def test_untouched_chain_verifies_and_links_follow_the_formula(agent: SignedClient, session: Any) -> None:
    import hashlib

    receipts = submit_three(agent)
    result = verify(session)
    assert result.ok, result.findings
    assert (result.schools, result.revisions) == (1, 3)
    first, second = revs(session)[:2]
    genesis = hashlib.sha256(b"houqin/chain-genesis@1:6105280001").hexdigest()
    assert first.prev_chain_hash == genesis
    stamp = first.received_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    by_hand = hashlib.sha256(
        "\n".join([genesis, first.content_sha256, first.report_id, "2026-09", "1", stamp]).encode()
    ).hexdigest()
    assert first.chain_hash == by_hand == receipts[0]["chain_hash"]
    assert second.prev_chain_hash == first.chain_hash


def _tamper(session: Any, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)
    session.expire_all()


def test_changed_content_is_found(agent: SignedClient, session: Any) -> None:
    submit_three(agent)
    target = revs(session)[1]
    content = json.loads(target.content)
    content["nutrition"]["food_spend"] = "60000.00"
    _tamper(
        session,
        "UPDATE report_revisions SET content = :c WHERE id = :i",
        c=json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        i=target.id,
    )
    result = verify(session)
    assert len(result.findings) == 1
    f = result.findings[0]
    assert f.chain == "school:6105280001" and f"id={target.id}" in f.row and "content was changed" in f.problem


def test_changed_arrival_time_is_found(agent: SignedClient, session: Any) -> None:
    submit_three(agent)
    target = revs(session)[0]
    earlier = (target.received_at - dt.timedelta(days=30)).replace(tzinfo=None)
    _tamper(session, "UPDATE report_revisions SET received_at = :t WHERE id = :i", t=earlier, i=target.id)
    f = verify(session).findings[0]
    assert f"id={target.id}" in f.row and "arrival time" in f.problem


def test_deleted_row_is_found(agent: SignedClient, session: Any) -> None:
    submit_three(agent)
    first, middle = revs(session)[:2]
    first_id, middle_id, middle_report = first.id, middle.id, middle.report_id
    _tamper(session, "UPDATE report_heads SET revision_id = :o WHERE revision_id = :i", o=first_id, i=middle_id)
    _tamper(session, "DELETE FROM hazard_entries WHERE revision_id = :i", i=middle_id)
    _tamper(session, "DELETE FROM report_revisions WHERE id = :i", i=middle_id)
    findings = verify(session).findings
    assert any("missing (deleted)" in f.problem for f in findings)
    assert any(middle_report in f.problem for f in findings)  # the acceptance log names the lost report


def test_deleting_the_latest_row_is_found_through_the_log(agent: SignedClient, session: Any) -> None:
    submit_three(agent)
    last = revs(session)[-1]
    last_id, last_report = last.id, last.report_id
    _tamper(session, "DELETE FROM report_heads WHERE revision_id = :i", i=last_id)
    _tamper(session, "DELETE FROM hazard_entries WHERE revision_id = :i", i=last_id)
    _tamper(session, "DELETE FROM report_revisions WHERE id = :i", i=last_id)
    findings = verify(session).findings
    assert [f.row for f in findings if last_report in f.problem]


def test_reordered_revisions_are_found(agent: SignedClient, session: Any) -> None:
    submit_three(agent)
    a, b = revs(session)[:2]
    _tamper(session, "UPDATE report_revisions SET chain_seq = 99 WHERE id = :i", i=a.id)
    _tamper(session, "UPDATE report_revisions SET chain_seq = 1 WHERE id = :i", i=b.id)
    _tamper(session, "UPDATE report_revisions SET chain_seq = 2 WHERE id = :i", i=a.id)
    f = verify(session).findings[0]
    assert f"id={b.id}" in f.row and "reordered" in f.problem


def test_changed_audit_entry_is_found(client: Any, agent: SignedClient, session: Any) -> None:
    from district.auth.services import create_token, create_user

    user = create_user(session, "admin", "correct horse battery", "county_admin", scope="610528")
    headers = {"Authorization": f"Bearer {create_token(session, user, 't')}"}
    assert client.post("/api/v1/periods/610528/2026-09/lock", headers=headers).status_code == 200
    assert client.post("/api/v1/periods/610528/2026-09/unlock", headers=headers).status_code == 200
    assert verify(session).ok
    lock = session.scalars(select(AuditEntry).where(AuditEntry.action == "period.lock")).one()
    _tamper(session, "UPDATE audit_log SET actor = 'someone-else' WHERE id = :i", i=lock.id)
    f = verify(session).findings[0]
    assert f.chain == "county:610528" and f"audit_log.id={lock.id}" in f.row and "changed" in f.problem


def test_receipt_signature_verifies_and_forgeries_are_refused(app: Any, agent: SignedClient, session: Any) -> None:
    from district.audit.keys import HubKeys
    from district.integrity.receipts import check_receipts

    receipt = submit_three(agent)[0]
    keys = HubKeys.load(Path(app.config["SIGNING_KEY_DIR"])).public_key_map()
    verify_receipt(receipt, keys)
    assert check_receipts(session, [receipt], keys) == []
    for field, value in [("period", "2026-08"), ("content_sha256", "0" * 64), ("chain_hash", "f" * 64)]:
        forged = {**receipt, field: value}
        with pytest.raises(ReceiptError) as exc:
            verify_receipt(forged, keys)
        assert exc.value.code == "bad_signature"
        assert check_receipts(session, [forged], keys)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from houqin_standard import receipt_payload

    rogue = Ed25519PrivateKey.generate()
    wrong_key = {**receipt, "signature": rogue.sign(receipt_payload(receipt)).hex()}
    with pytest.raises(ReceiptError):
        verify_receipt(wrong_key, keys)
    rogue_pub = rogue.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(ReceiptError) as exc:
        verify_receipt({**wrong_key, "hub_key_id": "rogue"}, {**keys, "other": rogue_pub})
    assert exc.value.code == "unknown_key"


def test_recorded_heads_pin_the_data(agent: SignedClient, session: Any) -> None:
    from district.integrity.heads import county_heads, record_heads

    submit_three(agent)
    rec = record_heads(session, "610528")
    assert rec.digest == county_heads(session, "610528").digest
    assert verify(session).ok
    last = revs(session)[-1]
    _tamper(session, "UPDATE report_revisions SET chain_hash = :h WHERE id = :i", h="e" * 64, i=last.id)
    assert any("chain_head_records" in f.row for f in verify(session).findings)


def test_key_rotation_keeps_old_receipts_valid_and_endorses_the_new_key(tmp_path: Path) -> None:
    from district.audit.keys import HubKeys, init_keys
    from houqin_standard import extend_pinned_keys, receipt_payload

    keys_dir = tmp_path / "keys"
    first = init_keys(keys_dir)
    old = HubKeys.load(keys_dir)
    receipt = {
        "report_id": "r",
        "school_code": "6105280001",
        "period": "2026-09",
        "revision": 1,
        "received_at": "2026-10-01T10:00:00.000000+08:00",
        "on_time": True,
        "content_sha256": "a" * 64,
        "chain_hash": "b" * 64,
        "hub_key_id": first,
    }
    receipt["signature"] = old.sign(receipt_payload(receipt))
    pinned = old.public_key_map()
    second = init_keys(keys_dir)
    new = HubKeys.load(keys_dir)
    assert new.current_id == second != first
    published = new.public_keys()
    assert {k["key_id"] for k in published} == {first, second}
    verify_receipt(receipt, new.public_key_map())  # the old key is kept for verification
    trusted = extend_pinned_keys(pinned, published)
    assert set(trusted) == {first, second}
    # a key that no pinned key vouches for is never trusted
    rogue = init_keys(tmp_path / "rogue")
    rogue_pub = HubKeys.load(tmp_path / "rogue").public_keys()
    forged = [{**k, "endorsed_by": first} for k in rogue_pub if k["key_id"] == rogue]
    assert set(extend_pinned_keys(pinned, published + forged)) == {first, second}
