"""Signed receipts between the agent and a real hub: the hub's key pinned at setup (or on first use), every
receipt verified and kept, `receipts export` accepted by the hub's `houqin audit verify-receipt`, forged receipts
(through a man-in-the-middle proxy) refused by the agent and by `verify-receipt`, and a hub key rotation followed
through its endorsement without a new setup."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from houqin_standard import SHANGHAI, canonical_json, period_add, receipt_payload
from school_agent.cli import EXIT_RECEIPT_INVALID, main
from school_agent.client import HubClient
from school_agent.outbox import Outbox, OutboxItem
from tests.school_agent.hubproc import ROOT, SCHOOL, Hub, example_report, run_agent, write_json
from tests.school_agent.receipt_proxy import RewriteProxy

ROGUE = Ed25519PrivateKey.generate()
ROGUE_KID = "0badc0de0badc0de"


def agent(home: Path, capsys: Any, *args: str) -> tuple[int, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def config(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "config.json").read_text(encoding="utf-8"))
    return data


def pinned_ids(home: Path) -> list[str]:
    return [k["key_id"] for k in config(home).get("hub_keys", [])]


def items(home: Path) -> list[OutboxItem]:
    with Outbox(home / "outbox.sqlite3") as ob:
        return ob.items()


def current_kid(hub: Hub) -> str:
    return (hub.instance / "keys" / "current").read_text().strip()


def hub_private_key(hub: Hub, kid: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((hub.instance / "keys" / f"{kid}.key").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def hub_cli(hub: Hub, *args: str) -> subprocess.CompletedProcess[str]:
    """``houqin …`` with the hub's own environment (its instance, database and key directory)."""
    return subprocess.run(
        [sys.executable, "-m", "district", *args],
        cwd=ROOT,
        env=hub.env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def verify_receipt_on_hub(hub: Hub, path: Path) -> subprocess.CompletedProcess[str]:
    return hub_cli(hub, "audit", "verify-receipt", str(path))


def setup(home: Path, hub_url: str, hub: Hub, *extra: str) -> subprocess.CompletedProcess[str]:
    cred = str(hub.credential_file())
    return run_agent(home, "setup", "--hub", hub_url, "-c", cred, "--name", "庄里镇中心小学", *extra)


def submit(home: Path, capsys: Any, tmp_path: Path, period: str) -> tuple[int, str, dict[str, Any]]:
    report = example_report(period)
    code, text = agent(home, capsys, "submit", str(write_json(tmp_path / f"{period}.json", report)))
    return code, text, report


# ----------------------------------------------------------------------------------------------- the good path


def test_setup_pins_the_hub_key_and_every_receipt_is_verified_exported_and_accepted_by_the_hub(
    tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    r = setup(home, shared_hub.url, shared_hub)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "已固定教育局服务器的回执签名密钥" in r.stdout and "回执签名密钥：已固定 1 个" in r.stdout
    (pin,) = config(home)["hub_keys"]
    assert pin["key_id"] == current_kid(shared_hub) and pin["pinned_by"] == "setup" and pin["algorithm"] == "Ed25519"
    # setup again (a new clerk): the pins stay as they are
    r = run_agent(home, "setup", "--clerk", "王会计")
    assert r.returncode == 0 and config(home)["hub_keys"] == [pin] and config(home)["clerk"] == "王会计"

    first, second = next_period(), next_period()
    reports = []
    for period in (first, second):
        code, text, report = submit(home, capsys, tmp_path, period)
        assert code == 0, text
        assert f"已送达教育局：{period} 第 1 版" in text and "教育局签名已核对" in text
        reports.append(report)
    for item in items(home):
        assert item.state == "sent" and item.receipt is not None
        assert item.receipt_key_id == pin["key_id"] and item.receipt_verified_at is not None
        assert {"signature", "chain_hash", "hub_key_id", "warnings"} <= set(item.receipt)  # kept whole

    # the default file name says what it is; run where the clerk is
    r = run_agent(home, "receipts", "export", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    today = datetime.now(SHANGHAI).date()
    exported = tmp_path / f"{SCHOOL}_回执_{today.isoformat()}.json"
    assert f"已导出 2 份回执（{first} 至 {second}）" in r.stdout and str(exported) in r.stdout
    raw = exported.read_bytes().decode("utf-8")
    assert "庄里镇中心小学" in raw  # UTF-8, not \\u escapes
    doc = json.loads(raw)
    assert doc["school_code"] == SCHOOL and doc["hub_url"] == shared_hub.url and doc["exported_at"]
    assert [k["key_id"] for k in doc["hub_keys"]] == [pin["key_id"]]
    assert [r["report_id"] for r in doc["receipts"]] == [rep["report_id"] for rep in reports]  # oldest first
    assert doc["receipts"] == [i.receipt for i in items(home)]

    hub_check = verify_receipt_on_hub(shared_hub, exported)
    assert hub_check.returncode == 0, hub_check.stdout + hub_check.stderr
    assert "2 of 2 receipts verified" in hub_check.stdout
    r = run_agent(home, "receipts", "verify", str(exported))
    assert r.returncode == 0 and "通过 2 份，不通过 0 份" in r.stdout, r.stdout + r.stderr
    assert "与本机发件箱中的报表一致" in r.stdout


def test_an_offline_setup_pins_nothing_and_the_first_sync_pins_the_hub_key(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory()  # not started: setup cannot reach it
    home = tmp_path / "agent"
    r = setup(home, hub.url, hub)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "暂时连不上教育局服务器" in r.stderr and "首次成功同步时将自动获取并固定" in r.stdout
    assert "hub_keys" not in config(home) or config(home)["hub_keys"] == []
    code, text, _ = submit(home, capsys, tmp_path, "2026-01")
    assert code == 3  # queued
    hub.start()
    code, text = agent(home, capsys, "sync")
    assert code == 0, text
    assert "已固定教育局服务器的回执签名密钥" in text and "首次使用时获取" in text
    (pin,) = config(home)["hub_keys"]
    assert pin["key_id"] == current_kid(hub) and pin["pinned_by"] == "first_use"
    (item,) = items(home)
    assert item.state == "sent" and item.receipt_key_id == pin["key_id"]
    assert (home / "config.json").stat().st_mode & 0o077 == 0


# ----------------------------------------------------------------------------------------------- forgeries


def _receipt_rewrite(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., bytes | None]:
    def rewrite(method: str, path: str, status: int, body: bytes) -> bytes | None:
        if method == "POST" and path.endswith("/api/v1/reports") and status in (200, 201):
            return json.dumps(change(json.loads(body)), ensure_ascii=False).encode()
        if method == "GET" and path.endswith("/api/v1/hub-keys"):
            # the man in the middle also publishes his key, claiming the hub's key endorsed it
            data = json.loads(body)
            raw = ROGUE.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            data["keys"].append(
                {
                    "key_id": ROGUE_KID,
                    "algorithm": "Ed25519",
                    "public_key": base64.b64encode(raw).decode(),
                    "created_at": "2026-01-01T00:00:00+00:00",
                    "current": True,
                    "endorsed_by": data["keys"][0]["key_id"],
                    "endorsement": ROGUE.sign(b"not the hub").hex(),
                }
            )
            return json.dumps(data).encode()
        return None

    return rewrite


def _resign(r: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    r["signature"] = key.sign(receipt_payload(r)).hex()
    return r


def forgeries(hub: Hub) -> dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]]:
    """case → (what the man in the middle does to the receipt, the code the agent refuses it with)."""
    real = hub_private_key(hub, current_kid(hub))
    return {
        "changed_period": (lambda r: {**r, "period": period_add(r["period"], -1)}, "bad_signature"),
        "changed_hash": (
            lambda r: {**r, "content_sha256": hashlib.sha256(b"other figures").hexdigest()},
            "bad_signature",
        ),
        "other_key_other_id": (lambda r: _resign({**r, "hub_key_id": ROGUE_KID}, ROGUE), "unknown_key"),
        "rogue_key_real_id": (lambda r: _resign(dict(r), ROGUE), "bad_signature"),
        # the hub's own key over another content hash (a compromised or broken hub): the signature holds, the
        # receipt is not for what was sent
        "hub_key_other_content": (
            lambda r: _resign({**r, "content_sha256": hashlib.sha256(b"x").hexdigest()}, real),
            "content_mismatch",
        ),
    }


@pytest.fixture()
def mitm(shared_hub: Hub) -> Iterator[RewriteProxy]:
    proxy = RewriteProxy(shared_hub.port)
    yield proxy
    proxy.close()


@pytest.mark.parametrize(
    "case", ["changed_period", "changed_hash", "other_key_other_id", "rogue_key_real_id", "hub_key_other_content"]
)
def test_a_forged_receipt_is_refused_by_the_agent_and_by_verify_receipt(
    case: str, tmp_path: Path, capsys: Any, shared_hub: Hub, mitm: RewriteProxy, next_period: Callable[[], str]
) -> None:
    home = tmp_path / "agent"
    r = setup(home, mitm.url, shared_hub)  # through the proxy, still honest: the real key is pinned
    assert r.returncode == 0, r.stdout + r.stderr
    pins = config(home)["hub_keys"]
    assert [k["key_id"] for k in pins] == [current_kid(shared_hub)]

    change, code = forgeries(shared_hub)[case]
    mitm.rewrite = _receipt_rewrite(change)
    period = next_period()
    status, text, report = submit(home, capsys, tmp_path, period)
    assert status == EXIT_RECEIPT_INVALID, text
    assert f"{period} 报表的回执未通过校验，没有标记为已送达" in text
    assert "请立即联系教育局信息中心核实" in text and f"houqin-agent retry {report['report_id'][:8]}" in text
    (item,) = items(home)
    assert item.state == "receipt_invalid" and item.receipt_verified_at is None
    assert item.receipt_error is not None and item.receipt_error["code"] == code, item.receipt_error
    forged = item.receipt
    assert forged is not None and forged["report_id"] == report["report_id"]  # kept as evidence
    with Outbox(home / "outbox.sqlite3") as ob:
        (event,) = [e for e in ob.events(item.report_id) if e["event"] == "receipt_invalid"]
    assert event["detail"].startswith(code) and forged["signature"] in event["detail"]
    assert config(home)["hub_keys"] == pins  # the rogue key was not pinned
    assert shared_hub.revisions_of(report["report_id"]) == 1  # the hub did get the report

    # not retried by itself; shown to the clerk
    posts = mitm.posts()
    code_, text = agent(home, capsys, "sync")
    assert code_ == 0 and "没有待发送的报表" in text and mitm.posts() == posts
    code_, text = agent(home, capsys, "status", "--offline")
    assert "回执无效 1 份" in text and "请立即联系教育局信息中心核实" in text
    code_, text = agent(home, capsys, "receipts", "export", "-o", str(tmp_path / "none.json"))
    assert code_ == 1 and "没有经签名核对的回执可导出" in text

    # a file holding the forged receipt: refused by the hub's verifier and by the agent's
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps({"receipts": [forged]}, ensure_ascii=False), encoding="utf-8")
    hub_check = verify_receipt_on_hub(shared_hub, forged_file)
    assert hub_check.returncode == 1, hub_check.stdout + hub_check.stderr
    assert f"REFUSED {report['report_id']}" in hub_check.stdout and "0 of 1 receipts verified" in hub_check.stdout
    code_, text = agent(home, capsys, "receipts", "verify", str(forged_file))
    assert code_ == 1 and "不通过 1 份" in text

    # the bureau checked and the network is clean again: retry gets the hub's true receipt
    mitm.rewrite = None
    code_, text = agent(home, capsys, "retry", report["report_id"][:8])
    assert code_ == 0, text
    assert f"已送达教育局：{period} 第 1 版" in text and "教育局签名已核对" in text
    (item,) = items(home)
    assert item.state == "sent" and item.receipt is not None and item.receipt != forged
    assert shared_hub.revisions_of(report["report_id"]) == 1
    exported = tmp_path / "回执.json"
    code_, text = agent(home, capsys, "receipts", "export", "-o", str(exported))
    assert code_ == 0 and "已导出 1 份回执" in text, text
    if case == "changed_period":  # the hub's verifier on an export is proven above; once here is enough
        hub_check = verify_receipt_on_hub(shared_hub, exported)
        assert hub_check.returncode == 0 and "1 of 1 receipts verified" in hub_check.stdout, hub_check.stdout


# ----------------------------------------------------------------------------------------------- key rotation


def test_a_hub_key_rotation_is_followed_through_its_endorsement_without_a_new_setup(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    hub = hub_factory().start()
    home = tmp_path / "agent"
    assert setup(home, hub.url, hub).returncode == 0
    old = current_kid(hub)
    assert pinned_ids(home) == [old]
    code, text, _ = submit(home, capsys, tmp_path, "2026-01")
    assert code == 0, text

    r = hub_cli(hub, "keys", "init")
    assert r.returncode == 0, r.stderr
    new = current_kid(hub)
    assert new != old
    hub.stop()
    hub.start()

    code, text, _ = submit(home, capsys, tmp_path, "2026-02")
    assert code == 0, text
    assert f"教育局服务器更换了回执签名密钥：新密钥 {new} 经已固定的密钥认可，已加入本机" in text
    assert "已送达教育局：2026-02 第 1 版" in text
    pins = config(home)["hub_keys"]
    assert [k["key_id"] for k in pins] == [old, new]
    assert pins[1]["pinned_by"] == "endorsement" and pins[1]["endorsed_by"] == old
    a, b = items(home)
    assert (a.receipt_key_id, b.receipt_key_id) == (old, new)

    exported = tmp_path / "回执.json"
    code, text = agent(home, capsys, "receipts", "export", "-o", str(exported))
    assert code == 0, text
    doc = json.loads(exported.read_text(encoding="utf-8"))
    assert [r["hub_key_id"] for r in doc["receipts"]] == [old, new]
    hub_check = verify_receipt_on_hub(hub, exported)
    assert hub_check.returncode == 0 and "2 of 2 receipts verified" in hub_check.stdout, hub_check.stdout
    code, text = agent(home, capsys, "receipts", "verify", str(exported))
    assert code == 0 and "通过 2 份" in text


def test_an_unendorsed_new_hub_key_is_refused_until_the_operator_repins(
    tmp_path: Path, capsys: Any, hub_factory: Callable[..., Hub]
) -> None:
    """A hub rebuilt with a fresh key (or an impostor): its receipts are refused; `setup` warns; only
    `setup --repin` (after the bureau confirmed) trusts the new key, then `retry` settles the report."""
    hub = hub_factory().start()
    home = tmp_path / "agent"
    assert setup(home, hub.url, hub).returncode == 0
    old = current_kid(hub)
    assert hub_cli(hub, "keys", "init").returncode == 0
    new = current_kid(hub)
    pub = hub.instance / "keys" / f"{new}.pub"
    info = json.loads(pub.read_text())
    info.pop("endorsed_by")
    info.pop("endorsement")
    pub.write_text(json.dumps(info) + "\n")
    hub.stop()
    hub.start()

    code, text, report = submit(home, capsys, tmp_path, "2026-03")
    assert code == EXIT_RECEIPT_INVALID, text
    (item,) = items(home)
    assert item.state == "receipt_invalid" and item.receipt_error is not None
    assert item.receipt_error["code"] == "unknown_key" and new in item.receipt_error["message"]
    assert pinned_ids(home) == [old]

    r = run_agent(home, "setup", "--clerk", "李总务")
    assert r.returncode == 0 and f"签名密钥 {new} 不是本机固定的密钥" in r.stderr and "setup --repin" in r.stderr
    assert pinned_ids(home) == [old]
    r = run_agent(home, "setup", "--repin")
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(pinned_ids(home)) == sorted([old, new])
    code, text = agent(home, capsys, "retry", report["report_id"][:8])
    assert code == 0 and "已送达教育局：2026-03 第 1 版" in text, text


# ----------------------------------------------------------------------------------------------- older agents


def test_receipts_an_older_agent_kept_unsigned_are_fetched_signed_by_status(
    tmp_path: Path, capsys: Any, shared_hub: Hub, next_period: Callable[[], str]
) -> None:
    """An outbox of agent version 1 (schema 1, receipts without signature): the upgraded agent migrates it, and
    `status` fetches each sent report's signed receipt (GET /api/v1/reports/<id>), verifies and keeps it."""
    from tests.school_agent.test_agent_receipt_trust import make_v1_outbox

    home = tmp_path / "agent"
    assert setup(home, shared_hub.url, shared_hub).returncode == 0
    secret = config(home)["secret"]
    period = next_period()
    report = example_report(period)
    body = canonical_json(report)
    resp = HubClient(shared_hub.url, SCHOOL, secret).post_report(body, ts=int(time.time()))
    assert resp.status == 201, resp.body
    make_v1_outbox(home / "outbox.sqlite3", [(report["report_id"], period, "sent", body)])

    code, text = agent(home, capsys, "status", "--period", period)
    assert code == 0, text
    assert "回执签名尚未核对" not in text
    (item,) = items(home)
    assert item.state == "sent" and item.receipt_verified_at is not None and item.receipt is not None
    assert item.receipt["hub_key_id"] == current_kid(shared_hub) and "signature" in item.receipt
    with Outbox(home / "outbox.sqlite3") as ob:
        assert [e["event"] for e in ob.events(item.report_id)] == ["queued", "receipt_fetched"]
    exported = tmp_path / "e.json"
    code, text = agent(home, capsys, "receipts", "export", "-o", str(exported), "--offline")
    assert code == 0, text
    assert verify_receipt_on_hub(shared_hub, exported).returncode == 0
