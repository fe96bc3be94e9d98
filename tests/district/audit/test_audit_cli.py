"""The verifier's command line on a real instance: exit 0 when intact, 1 naming the row after tampering."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import example_report
from tests.livehub import LiveHub


@pytest.mark.slow
def test_verify_and_verify_receipt_commands(tmp_path: Path) -> None:
    hub = LiveHub(tmp_path, postgres=False)
    try:
        hub.start()
        receipts = []
        for period in ("2026-09", "2026-10"):
            status, receipt = hub.post_report(example_report(period=period))
            assert status == 201
            receipts.append(receipt)
        out = hub.cli("audit", "verify")
        assert "all chains intact" in out and "2 revisions" in out
        receipt_file = tmp_path / "receipts.json"
        receipt_file.write_text(json.dumps({"school_code": "6105280001", "receipts": receipts}), encoding="utf-8")
        assert "2 of 2 receipts verified" in hub.cli("audit", "verify-receipt", str(receipt_file))
        forged = tmp_path / "forged.json"
        forged.write_text(json.dumps([{**receipts[0], "period": "2026-08"}]), encoding="utf-8")
        with pytest.raises(RuntimeError):
            hub.cli("audit", "verify-receipt", str(forged))
        hub.stop()
        with sqlite3.connect(hub.instance / "houqin.db") as conn:
            conn.execute("UPDATE report_revisions SET received_at = '2026-10-01 00:00:00.000000' WHERE chain_seq = 2")
        with pytest.raises(RuntimeError):
            hub.cli("audit", "verify")
        import subprocess
        import sys

        res = subprocess.run(
            [sys.executable, "-m", "district", "audit", "verify"],
            env=hub.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 1
        assert "BROKEN  school:6105280001: report_revisions.id=2" in res.stdout
        assert "arrival time" in res.stdout
    finally:
        hub.close()
