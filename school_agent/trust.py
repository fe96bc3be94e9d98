"""Trusting the hub's receipts (回执): the hub's pinned public keys, and the check of every receipt.

The hub signs each receipt with Ed25519 (``houqin_standard.receipts``; docs/AUDIT.md). The agent trusts the
keys it **pinned**: at ``setup`` (``GET /api/v1/hub-keys``), or, when setup could not reach the hub, at the first
sync that gets a receipt (trust on first use). Pins live in ``config.json`` (0600) under ``hub_keys`` and only
grow: a key the hub rotated to is added when — and only when — a key already pinned endorsed it
(``houqin_standard.extend_pinned_keys``). A key nobody pinned vouches for is never trusted; only the operator
replaces pins (``houqin-agent setup --repin``).

A receipt is accepted when (1) its signature verifies against a pinned key — on ``unknown_key`` the hub's keys
are fetched once more and the endorsed ones added, then it is verified again — and (2) it names what was sent:
the same report_id, school_code and period, and ``content_sha256`` equal to the SHA-256 of the canonical body
the agent POSTed. Anything else is :class:`ReceiptInvalid`: a man in the middle or a compromised hub, which no
retry can fix. Not being able to fetch the keys (network) is :class:`KeysUnavailable`: try again later.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from houqin_standard import ReceiptError, content_sha256, extend_pinned_keys, verify_receipt

from .client import HubClient, HubUnreachable

HUB_KEYS_PATH = "/api/v1/hub-keys"
ALGORITHM = "Ed25519"
# What of a published key record is pinned (and exported for an auditor); ``current`` is a moving fact, not pinned.
PINNED_FIELDS = ("key_id", "algorithm", "public_key", "created_at", "endorsed_by", "endorsement")

REASONS_ZH = {
    "bad_signature": "签名不符：回执内容被改动过，或不是教育局服务器签发的",
    "unknown_key": "签名所用的密钥不是本机固定的教育局密钥，也没有得到已固定密钥的认可",
    "missing_field": "回执缺少签名或必要的内容",
    "report_mismatch": "回执中的报表编号与发送的报表不一致",
    "school_mismatch": "回执中的学校与发送的报表不一致",
    "period_mismatch": "回执中的月份与发送的报表不一致",
    "content_mismatch": "回执中的校验码与发送的报表内容不一致",
    "not_a_receipt": "回执格式不对",
}


class ReceiptInvalid(Exception):
    """The receipt is not the hub's signed receipt for what was sent. ``code``: one of ``REASONS_ZH``;
    ``str(exc)``: the Chinese reason."""

    def __init__(self, code: str, detail: str = "") -> None:
        text = REASONS_ZH.get(code, code)
        super().__init__(f"{text}（{detail}）" if detail else text)
        self.code = code
        self.detail = detail


class KeysUnavailable(Exception):
    """The hub's keys could not be fetched (network, an answer that is not the key list) or checked (the
    ``cryptography`` package is missing): nothing is decided, try again later. ``str(exc)`` is Chinese."""


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _raw(public_key: Any) -> bytes | None:
    try:
        raw = base64.b64decode(str(public_key), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def published_keys(data: Any) -> list[dict[str, Any]]:
    """The usable key records of a ``GET /api/v1/hub-keys`` answer (Ed25519, a key id, 32 raw bytes)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise KeysUnavailable("教育局服务器没有给出回执签名密钥（回复格式不对）")
    keys = []
    for k in data["keys"]:
        if (
            isinstance(k, dict)
            and isinstance(k.get("key_id"), str)
            and k["key_id"]
            and k.get("algorithm", data.get("algorithm", ALGORITHM)) == ALGORITHM
            and _raw(k.get("public_key")) is not None
        ):
            keys.append(k)
    if not keys:
        raise KeysUnavailable("教育局服务器没有公布可用的回执签名密钥")
    return keys


def fetch_hub_keys(client: HubClient) -> list[dict[str, Any]]:
    """``GET /api/v1/hub-keys`` (public; sent signed like every agent request)."""
    try:
        resp = client.get(HUB_KEYS_PATH)
    except HubUnreachable as exc:
        raise KeysUnavailable(f"无法获取教育局服务器的回执签名密钥：{exc}") from None
    if resp.status != 200:
        raise KeysUnavailable(f"无法获取教育局服务器的回执签名密钥（HTTP {resp.status}）")
    return published_keys(resp.json)


def pin_record(key: Mapping[str, Any], how: str, at: str | None = None) -> dict[str, Any]:
    rec = {f: key[f] for f in PINNED_FIELDS if key.get(f) is not None}
    rec.setdefault("algorithm", ALGORITHM)
    rec["pinned_at"] = at or now_iso()
    rec["pinned_by"] = how  # setup | first_use | endorsement | repin
    return rec


def key_map(pins: list[dict[str, Any]]) -> dict[str, str]:
    """key id → base64 public key, as ``verify_receipt`` and ``extend_pinned_keys`` take them."""
    return {str(p["key_id"]): str(p["public_key"]) for p in pins if "key_id" in p and "public_key" in p}


def extend_pins(pins: list[dict[str, Any]], published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pins plus every published key a pinned key endorsed (directly or through a chain of rotations)."""
    try:
        trusted = extend_pinned_keys(key_map(pins), list[Mapping[str, Any]](published))
    except ImportError:
        raise KeysUnavailable(_NO_CRYPTO) from None
    have = set(key_map(pins))
    at = now_iso()
    added = [pin_record(k, "endorsement", at) for k in published if k["key_id"] in trusted and k["key_id"] not in have]
    return [*pins, *added]


def first_pins(published: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    at = now_iso()
    return [pin_record(k, how, at) for k in published]


def untrusted_current(pins: list[dict[str, Any]], published: list[dict[str, Any]]) -> list[str]:
    """Published keys marked current that the pins do not hold (after endorsement): the hub signs with a key
    this agent would refuse."""
    have = set(key_map(pins))
    return [str(k["key_id"]) for k in published if k.get("current") and k["key_id"] not in have]


_NO_CRYPTO = "本机缺少 cryptography 组件，无法核对回执签名：请重新安装 houqin-agent（它会一并安装该组件）"


def check_signature(receipt: Mapping[str, Any], pins: list[dict[str, Any]]) -> str:
    """The key id that verifies ``receipt``; :class:`ReceiptInvalid` when none does."""
    keys = key_map(pins)
    try:
        verify_receipt(receipt, keys)
    except ReceiptError as exc:
        detail = ""
        if exc.code == "unknown_key":
            detail = f"密钥 {receipt.get('hub_key_id')!s}"
        elif exc.code == "missing_field":
            detail = str(exc)
        raise ReceiptInvalid(exc.code, detail) from None
    except ImportError:
        raise KeysUnavailable(_NO_CRYPTO) from None
    return str(receipt["hub_key_id"])


def check_matches(receipt: Mapping[str, Any], *, report_id: str, school_code: str, period: str, body: bytes) -> None:
    """The receipt names what was sent: same report, school, month, and the SHA-256 of the body's content."""
    if str(receipt.get("report_id", "")).lower() != report_id.lower():
        raise ReceiptInvalid("report_mismatch", f"{receipt.get('report_id')!s}，应为 {report_id}")
    if receipt.get("school_code") != school_code:
        raise ReceiptInvalid("school_mismatch", f"{receipt.get('school_code')!s}，应为 {school_code}")
    if receipt.get("period") != period:
        raise ReceiptInvalid("period_mismatch", f"{receipt.get('period')!s}，应为 {period}")
    expected = content_sha256(json.loads(body.decode("utf-8")))
    if receipt.get("content_sha256") != expected:
        got = str(receipt.get("content_sha256", ""))[:12]
        raise ReceiptInvalid("content_mismatch", f"{got}…，应为 {expected[:12]}…")


class ReceiptChecker:
    """Checks receipts against the pinned keys; pins on first use and follows endorsed rotations.

    ``fetch``: the hub's published keys (``None``: offline, no pinning or refresh). ``save``: persists the new
    pin list (called only when it changed). ``pins`` is the current list, also after a refresh.
    """

    def __init__(
        self,
        pins: list[dict[str, Any]],
        fetch: Callable[[], list[dict[str, Any]]] | None = None,
        save: Callable[[list[dict[str, Any]]], None] | None = None,
        *,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.pins = list(pins)
        self._fetch, self._save, self._out = fetch, save, out
        self._refreshed = False  # one refresh per checker (one command run): a forger cannot make us loop
        self.pinned_now: list[str] = []  # key ids added by this checker (for messages and tests)

    def _say(self, text: str) -> None:
        if self._out is not None:
            self._out(text)

    def _update(self, pins: list[dict[str, Any]]) -> None:
        added = [p["key_id"] for p in pins if p["key_id"] not in key_map(self.pins)]
        if not added:
            return
        self.pins = pins
        self.pinned_now.extend(added)
        if self._save is not None:
            self._save(pins)

    def ensure_pinned(self) -> None:
        """Trust on first use: nothing pinned yet (setup could not reach the hub) → pin what the hub publishes."""
        if self.pins:
            return
        if self._fetch is None:
            raise KeysUnavailable("本机还没有固定教育局服务器的回执签名密钥：请先联网运行 houqin-agent sync 或 setup")
        published = self._fetch()
        self._refreshed = True
        self._update(first_pins(published, "first_use"))
        self._say(f"已固定教育局服务器的回执签名密钥：{'、'.join(self.pinned_now)}（首次使用时获取）")

    def verify(self, receipt: Mapping[str, Any]) -> str:
        """The pinned key id that verifies ``receipt`` (after following an endorsed key rotation if need be)."""
        self.ensure_pinned()
        try:
            return check_signature(receipt, self.pins)
        except ReceiptInvalid as exc:
            if exc.code != "unknown_key" or self._fetch is None or self._refreshed:
                raise
        published = self._fetch()  # KeysUnavailable: undecided, and a later try may refresh again
        self._refreshed = True
        before = len(self.pins)
        self._update(extend_pins(self.pins, published))
        if len(self.pins) > before:
            new = "、".join(str(p["key_id"]) for p in self.pins[before:])
            self._say(f"教育局服务器更换了回执签名密钥：新密钥 {new} 经已固定的密钥认可，已加入本机")
        return check_signature(receipt, self.pins)

    def check(self, receipt: Mapping[str, Any], *, report_id: str, school_code: str, period: str, body: bytes) -> str:
        """Signature first (a forged receipt is called forged), then that it names what was sent."""
        if not isinstance(receipt, Mapping):
            raise ReceiptInvalid("not_a_receipt")
        kid = self.verify(receipt)
        check_matches(receipt, report_id=report_id, school_code=school_code, period=period, body=body)
        return kid
