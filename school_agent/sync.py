"""Pushing the outbox to the hub (同步): oldest first, one report at a time, retried with backoff.

How each answer is taken (API.md):

* 200 / 201 with a receipt for OUR report_id → checked (``trust.ReceiptChecker``: the hub's Ed25519 signature
  by a pinned key, and the receipt names what was sent) → ``sent`` (200 is the hub recognising a re-send).
  A receipt that fails the check → ``receipt_invalid``, and the run stops: a forged receipt means a man in the
  middle or a compromised hub, which no retry fixes. The hub's keys not fetchable → retried like a network error.
* 422 (rule violations), 403 (school mismatch), 413, 415 → ``rejected`` with the hub's reasons; not retried.
* 409 (report_id reused with other content, or the period is locked) → ``conflict``; shown, not retried.
* 429 → wait what ``Retry-After`` says (or leave it for the next run, remembering when), then again.
* network errors, 5xx, a 2xx without a readable receipt → retried with exponential backoff and jitter.
* 401 → the credential or the PC's clock is wrong: no retry can fix that, so the run stops, all stays pending.

Order matters: a correction sent before the report it corrects would leave the older figures in effect, so
the run never skips past a report it could not send; it stops and the next run starts from it again.
Two timestamps are never reused for one report (the hub would take the second request as a replay).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import clock, crash
from .client import HubClient, HubResponse, HubUnreachable
from .outbox import Outbox, OutboxItem
from .trust import KeysUnavailable, ReceiptChecker, ReceiptInvalid

Printer = Callable[[str], None]

REFUSED = {422: "rejected", 403: "rejected", 413: "rejected", 415: "rejected", 409: "conflict"}


@dataclass
class SyncOptions:
    max_attempts: int = 5  # tries of one report in one run (429 waits are not counted)
    backoff_base: float = 1.0  # seconds; delay n is base·2ⁿ, capped, with jitter
    backoff_cap: float = 60.0
    max_time: float = 600.0  # a run gives up (everything stays pending) after this many seconds
    progress_every: int = 0  # 0: automatic
    verbose: bool = True


@dataclass
class SyncResult:
    sent: list[OutboxItem] = field(default_factory=list)
    rejected: list[OutboxItem] = field(default_factory=list)
    conflict: list[OutboxItem] = field(default_factory=list)
    receipt_invalid: list[OutboxItem] = field(default_factory=list)
    stopped: str | None = None  # why the run ended with reports still pending (Chinese), None when done
    auth_failed: bool = False
    pending_left: int = 0

    @property
    def refused(self) -> list[OutboxItem]:
        return self.rejected + self.conflict


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": half the step fixed, half random; never below one second so a
    retry always carries a new signature timestamp."""
    step = min(cap, base * (2**attempt))
    return max(1.0, step / 2 + rand() * step / 2)


def _is_receipt(resp: HubResponse, item: OutboxItem) -> dict[str, Any] | None:
    data = resp.json
    if isinstance(data, dict) and str(data.get("report_id", "")).lower() == item.report_id:
        return data
    return None


class Pusher:
    def __init__(
        self,
        outbox: Outbox,
        client: HubClient,
        options: SyncOptions | None = None,
        *,
        checker: ReceiptChecker,
        out: Printer = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = clock.wall,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.outbox, self.client = outbox, client
        self.opt = options or SyncOptions()
        self.checker = checker
        self._unsettled: str | None = None  # why a 2xx with our receipt was not settled (keys unavailable)
        self.out, self.sleep, self.clock, self.wall, self.rand = out, sleep, clock, wall, rand

    def _say(self, text: str) -> None:
        if self.opt.verbose:
            self.out(text)

    def run(self) -> SyncResult:
        """Push every pending report, oldest first, until done, stopped, or out of time."""
        result = SyncResult()
        started = self.clock()
        total = self.outbox.count("pending")
        every = self.opt.progress_every or (0 if total <= 3 else max(1, total // 20) if total > 40 else 1)
        if every:
            self._say(f"待发送 {total} 份报表")
        done = 0
        while True:
            item = self.outbox.next_pending()
            if item is None:
                break
            if item.next_attempt_at and item.next_attempt_at > self.wall():
                wait = item.next_attempt_at - self.wall()
                if self.clock() - started + wait > self.opt.max_time:
                    result.stopped = f"教育局服务器要求 {math.ceil(wait)} 秒后再发送（请求过于频繁），稍后自动重试"
                    break
                self.sleep(wait)
            outcome = self._push_one(item, result, started)
            if outcome == "stop":
                break
            done += 1
            if every and (done % every == 0 or done == total):
                self._say(f"进度 {done}/{max(total, done)}：已发送 {len(result.sent)}，被退回 {len(result.refused)}")
        result.pending_left = self.outbox.count("pending")
        return result

    def _signing_ts(self, item: OutboxItem) -> int:
        ts = int(self.wall())
        if item.last_signed_ts is not None and ts <= item.last_signed_ts:
            # the previous try (maybe of a killed process) used this second already: a replay to the hub
            self.sleep(item.last_signed_ts + 1 - self.wall() + 0.01)
            ts = max(int(self.wall()), item.last_signed_ts + 1)
        return ts

    def _push_one(self, item: OutboxItem, result: SyncResult, started: float) -> str:
        """'done' when the item is settled (sent, rejected, conflict), 'stop' to end the run."""
        failures = 0
        while True:
            current = self.outbox.get(item.report_id)
            if current is None or current.state != "pending":
                return "done"  # settled meanwhile (cannot happen under the lock; harmless if it does)
            ts = self._signing_ts(current)
            self.outbox.record_attempt(item.report_id, ts)
            crash.point("before_request")
            status: int | None = None
            retry_after: float | None = None
            error_code = ""
            try:
                resp = self.client.post_report(item.body, ts=ts)
            except HubUnreachable as exc:
                message = str(exc)
            else:
                self._unsettled = None
                outcome = self._settle(item, resp, result)
                if outcome is not None:
                    return outcome
                status = resp.status
                error_code = str(resp.error.get("code", ""))
                if status == 429:
                    retry_after = retry_after_seconds(resp.headers.get("retry-after"))
                message = self._unsettled or self._failure_message(resp)
            if status == 429:
                wait = (
                    retry_after
                    if retry_after is not None
                    else backoff_delay(failures, self.opt.backoff_base, self.opt.backoff_cap, self.rand)
                )
                if self.clock() - started + wait > self.opt.max_time:
                    self.outbox.note_failure(
                        item.report_id, message, status=429, next_attempt_at=math.ceil(self.wall() + wait)
                    )
                    result.stopped = f"{message}；将在 {math.ceil(wait)} 秒后由下一次同步继续"
                    return "stop"
                self.outbox.note_failure(item.report_id, message, status=429)
                self._say(f"  {item.period} {message}，等待 {wait:.0f} 秒")
                self.sleep(wait)
                continue
            self.outbox.note_failure(item.report_id, message, status=status)
            if status == 401 and error_code != "replay":
                result.stopped = message
                result.auth_failed = True
                return "stop"
            failures += 1
            if failures >= self.opt.max_attempts:
                result.stopped = message
                return "stop"
            delay = backoff_delay(failures - 1, self.opt.backoff_base, self.opt.backoff_cap, self.rand)
            if self.clock() - started + delay > self.opt.max_time:
                result.stopped = message
                return "stop"
            self._say(f"  {item.period} 发送失败（{message}），{delay:.0f} 秒后第 {failures + 1} 次尝试")
            self.sleep(delay)

    def _settle(self, item: OutboxItem, resp: HubResponse, result: SyncResult) -> str | None:
        if resp.status in (200, 201):
            receipt = _is_receipt(resp, item)
            if receipt is None:
                return None  # a 2xx that is not our receipt (a captive portal, a proxy): not proof; retry
            try:
                key_id = self.checker.check(
                    receipt, report_id=item.report_id, school_code=item.school_code, period=item.period, body=item.body
                )
            except KeysUnavailable as exc:
                self._unsettled = str(exc)
                return None  # cannot check it now: the report is safe with the hub; the re-send gets it again
            except ReceiptInvalid as exc:
                self.outbox.mark_receipt_invalid(item.report_id, resp.status, receipt, exc.code, str(exc))
                settled = self.outbox.get(item.report_id)
                assert settled is not None
                result.receipt_invalid.append(settled)
                result.stopped = f"{item.period} 报表的回执未通过校验：{exc}"
                return "stop"
            crash.point("after_response_before_mark")
            self.outbox.mark_sent(item.report_id, resp.status, receipt, key_id)
            crash.point("after_mark")
            settled = self.outbox.get(item.report_id)
            assert settled is not None
            result.sent.append(settled)
            return "done"
        state = REFUSED.get(resp.status)
        if state is not None:
            self.outbox.mark_refused(item.report_id, state, resp.status, resp.error)
            settled = self.outbox.get(item.report_id)
            assert settled is not None
            (result.rejected if state == "rejected" else result.conflict).append(settled)
            return "done"
        return None

    @staticmethod
    def _failure_message(resp: HubResponse) -> str:
        """Why a send did not settle, in a clerk's words (``school_agent.wording``: a captive portal's page is
        recognised, the HTTP status only with ``--verbose``)."""
        from . import wording

        if resp.status in (200, 201) and wording.from_hub(resp):
            return "教育局服务器的回复中没有本报表的回执，稍后重试" + wording.http_note(resp.status)
        if resp.status == 404 and not wording.from_hub(resp):
            where = "，或服务器地址不对（请检查 houqin-agent setup 中的服务器地址）"
            return wording.NOT_HUB + where + wording.http_note(404)
        message = wording.failure(resp)
        if resp.status == 401 and resp.error.get("code") == "replay":
            return "服务器认为是重复请求，稍后重试"
        return message
