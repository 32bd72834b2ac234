"""The outbox dispatcher: delivers due alerts, marks them sent only after the sink confirms."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts.format import Copy, render, render_batch
from bot.alerts.notices import render_notice
from bot.domain.errors import DeliveryFailed, RateLimited, TargetUnreachable
from bot.domain.models import Alert
from bot.domain.ports import AlertSink, BatchSink, Clock, OutgoingAlert, SentMessage, SystemClock, as_batch
from bot.domain.retry import backoff_delay
from bot.domain.storage import Storage

log = logging.getLogger(__name__)

MAX_UNMARKED = 500  # delivered messages whose "sent" mark may wait for the store's current commit

# Other channels' copies of the post each alert message is about (cross-channel deduplication): one
# list of copies per group of alerts (one message each), looked up together.
CopiesLookup = Callable[[Sequence[Sequence[Alert]]], Awaitable[Sequence[Sequence[Copy]]]]


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """Retries, backoff, pacing and coalescing."""

    max_attempts: int = 8
    base_backoff: float = 2.0  # seconds before the 2nd try; doubles each time
    max_backoff: float = 900.0
    coalesce_at: int = 5  # this many alerts due for one chat at once go out as one message
    batch_size: int = 200
    unreachable_retry: float = 600.0  # seconds between tries of a chat that is not reachable yet
    claim_seconds: float = 60.0  # alerts claimed for delivery stay this process's this long (plus pacing)


@dataclass(slots=True)
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0  # kept pending: their chat is not reachable yet
    messages: int = 0
    waits: list[float] = field(default_factory=list)


class Dispatcher:
    """Moves alerts from the outbox to their sinks, paced per chat, with retries and backoff."""

    def __init__(
        self,
        store: Storage,
        sinks: Mapping[str, AlertSink],
        *,
        clock: Clock | None = None,
        policy: DispatchPolicy | None = None,
        copies: CopiesLookup | None = None,
    ) -> None:
        self.store = store
        self.copies = copies
        self.sinks = sinks  # shared: a sink built for a route added while running is used at once
        self.clock = clock or SystemClock()
        self.policy = policy or DispatchPolicy()
        # Who claims alerts in the shared outbox: `telewatch run` sets its watcher name (its claims left by a
        # crash are its own again after a restart); other modes claim as this process.
        self.claimer = f"{socket.gethostname()}:pid{os.getpid()}"
        self._lock = asyncio.Lock()
        self._unreachable_reason = "the chat is not reachable"
        self._marks = _SentMarks(store)
        self._postponed: tuple[float, str] | None = None  # (delay, error) of a patient sink that is down

    async def run_once(self) -> DispatchResult:
        """Deliver every alert that is due now. Safe to call concurrently (calls are serialised)."""
        async with self._lock:
            result = DispatchResult()
            dropped = await self.store.alerts.drop_orphan_followups()
            if dropped:
                log.info(
                    "%d deletion report(s) not sent: the alert they follow up was not delivered", dropped
                )
            await self._deliver_notices(result)
            try:
                await self._deliver_due(result)
            finally:
                await self._marks.flush()  # every message delivered in this pass is marked before it ends
            return result

    async def _deliver_due(self, result: DispatchResult) -> None:
        while True:
            if len(self._marks.pending) >= MAX_UNMARKED:
                await self._marks.flush()  # bounds what a crash could send twice
            # Delivered messages whose mark waits for the store are still pending there: skip them.
            unmarked = self._marks.ids()
            limit = self.policy.batch_size + len(unmarked)
            # Alerts of sinks this mode lacks (telegram during a replay) stay pending for `telewatch run`.
            fetched = await self.store.alerts.due(
                self.clock.now(), limit, sinks=self.sinks, claimer=self.claimer
            )
            due = await self._claim([a for a in fetched if a.id not in unmarked])
            if not due and len(fetched) < limit:
                return
            groups: dict[tuple[str, str | None], list[tuple[Alert, str | None]]] = {}
            targets = await self.store.alerts.targets([a.id for a in due])
            for alert in due:
                target = targets.get(alert.id)
                groups.setdefault((alert.sink, target), []).append((alert, target))
            for (sink_name, target), items in groups.items():
                await self._deliver_group(sink_name, target, items, result)
            if len(fetched) < limit:
                return

    async def _deliver_notices(self, result: DispatchResult) -> None:
        """Deliver due notices (health, spikes, surges) with the alerts' pacing, backoff and waiting."""
        down: set[tuple[str, str | None]] = set()  # a destination found down: its other notices wait
        for notice in await self.store.notices.due(
            self.clock.now(), self.policy.batch_size, sinks=self.sinks, claimer=self.claimer
        ):
            sink = self.sinks.get(notice.sink)
            if sink is None or (notice.sink, notice.target) in down:
                continue
            now = self.clock.now()
            until = now + timedelta(seconds=self.policy.claim_seconds + sink.capabilities.min_interval)
            if not await self.store.notices.claim(notice.id, self.claimer, now, until):
                continue  # another process is delivering it
            await self._pace(sink, notice.target)
            now = self.clock.now()
            try:
                await sink.deliver(render_notice(notice))
            except RateLimited as e:
                wait = e.retry_after + random.uniform(0.5, 2.0)
                await self.store.notices.mark_retry(
                    notice.id, now + timedelta(seconds=wait), str(e), count=False
                )
                result.retried += 1
                down.add((notice.sink, notice.target))
                continue
            except TargetUnreachable as e:
                next_try = now + timedelta(seconds=self.policy.unreachable_retry)
                await self.store.notices.mark_retry(notice.id, next_try, f"{e}: kept pending", waiting=True)
                result.waiting += 1
                down.add((notice.sink, notice.target))
                continue
            except Exception as e:  # DeliveryFailed, or a sink bug: never fatal to the loop
                permanent = isinstance(e, DeliveryFailed) and e.permanent
                attempts = notice.attempts + 1
                error = str(e) if isinstance(e, DeliveryFailed) else f"{type(e).__name__}: {e}"
                if permanent or (attempts >= self.policy.max_attempts and not sink.capabilities.patient):
                    await self.store.notices.mark_failed(notice.id, error)
                    result.failed += 1
                    continue
                delay = (
                    self.policy.unreachable_retry
                    if attempts >= self.policy.max_attempts
                    else backoff_delay(attempts, base=self.policy.base_backoff, cap=self.policy.max_backoff)
                )
                await self.store.notices.mark_retry(notice.id, now + timedelta(seconds=delay), error)
                result.retried += 1
                down.add((notice.sink, notice.target))
                continue
            await self.store.notices.mark_sent(notice.id, self.clock.now())
            result.sent += 1
            result.messages += 1

    async def wake(self, *chats: str) -> int:
        """A chat showed it is reachable (it wrote to the bot): its waiting alerts are tried at once."""
        woken = await self.store.alerts.wake(chats, self.clock.now())
        if woken:
            log.info("chat %s is reachable now: retrying %d waiting alert(s)", " / ".join(chats), woken)
        return woken

    async def run_forever(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Dispatch until `stop` is set; errors are logged and retried, never fatal."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("alert dispatch failed; retrying in %.0fs", interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def _deliver_group(
        self,
        sink_name: str,
        target: str | None,
        items: list[tuple[Alert, str | None]],
        result: DispatchResult,
    ) -> None:
        sink = self.sinks.get(sink_name)
        if sink is None:  # `due` only returns alerts of our sinks; the others wait for a mode that has them
            return
        by_post: dict[tuple[int, str], list[Alert]] = {}
        for alert, _ in items:  # one message per post and kind, however many rules it matched
            by_post.setdefault((alert.post_id, alert.kind.value), []).append(alert)
        # Everything a group's messages show is read with a few queries, not a few per alert.
        posts = await self.store.posts.get_many({post_id for post_id, _ in by_post})
        missing = [a.id for (post_id, _), alerts in by_post.items() if post_id not in posts for a in alerts]
        if missing:  # cannot happen with foreign keys on; never crash the loop over it
            await self.store.alerts.mark_failed(missing, "post missing")
            result.failed += len(missing)
        groups = [alerts for (post_id, _), alerts in by_post.items() if post_id in posts]
        found = await self.store.matches.get_many({(a.post_id, a.rule) for group in groups for a in group})
        copies = await self.copies(groups) if self.copies is not None and groups else [()] * len(groups)
        rendered: list[tuple[list[Alert], OutgoingAlert]] = []
        for alerts, shown in zip(groups, copies, strict=True):
            matches = [found.get((a.post_id, a.rule)) for a in alerts]
            stored = posts[alerts[0].post_id]
            rendered.append((alerts, render(alerts, stored, matches, target, copies=shown)))
        await self._deliver_rendered(sink, target, rendered, result)
        await self._marks.flush(unless_busy=True)

    async def _deliver_rendered(
        self,
        sink: AlertSink,
        target: str | None,
        rendered: list[tuple[list[Alert], OutgoingAlert]],
        result: DispatchResult,
    ) -> None:
        can = sink.capabilities
        coalesce = len(rendered) >= self.policy.coalesce_at and can.coalesces
        many = as_batch(sink) if can.min_interval <= 0 else None
        if not coalesce and many is not None:
            await self._send_many(many, target, rendered, result)
        elif coalesce:
            batch = render_batch([r for _, r in rendered], target)
            alerts = [a for group, _ in rendered for a in group]
            await self._send(sink, target, batch, alerts, result, editable=False)
        else:
            for i, (group, outgoing) in enumerate(rendered):
                if not await self._send(sink, target, outgoing, group, result):
                    # the chat is not reachable, or the destination is down: the rest for it wait too,
                    # without a request each (a hung webhook would otherwise hold up every other sink)
                    rest = [a for later, _ in rendered[i + 1 :] for a in later]
                    postponed, self._postponed = self._postponed, None
                    if postponed is not None and rest:
                        delay, error = postponed
                        next_try = self.clock.now() + timedelta(seconds=delay)
                        await self.store.alerts.mark_retry(
                            [a.id for a in rest], next_try, f"not tried: {error}", count=False
                        )
                        result.retried += len(rest)
                    elif postponed is None:
                        await self._wait_for_target(rest, target, self._unreachable_reason, result)
                    return

    async def _send(
        self,
        sink: AlertSink,
        target: str | None,
        outgoing: OutgoingAlert,
        alerts: list[Alert],
        result: DispatchResult,
        *,
        editable: bool = True,
    ) -> bool:
        """Deliver one message; False when its chat is not reachable (its alerts are kept waiting).
        It is marked sent at once when the store is free, else with the next messages (see _SentMarks)."""
        await self._pace(sink, target)
        ids = [a.id for a in alerts]
        now = self.clock.now()
        try:
            sent = await sink.deliver(outgoing)
        except RateLimited as e:
            wait = e.retry_after + random.uniform(0.5, 2.0)  # jitter keeps retries from syncing up
            result.waits.append(wait)
            log.warning("%s: rate limited, retrying %d alert(s) in %.0fs", sink.name, len(ids), wait)
            await self.store.alerts.mark_retry(ids, now + timedelta(seconds=wait), str(e), count=False)
            result.retried += len(ids)
            return True
        except TargetUnreachable as e:
            minutes = self.policy.unreachable_retry / 60
            self._unreachable_reason = f"{e}: kept pending, tried again every {minutes:g} min and as soon as that chat writes to the bot"
            log.warning("%s: %s (%d alert(s))", sink.name, self._unreachable_reason, len(ids))
            await self._wait_for_target(alerts, target, self._unreachable_reason, result)
            return False
        except DeliveryFailed as e:
            delay = await self._retry_or_fail(
                alerts, str(e), e.permanent, result, patient=sink.capabilities.patient
            )
            if delay is not None and sink.capabilities.patient:
                self._postponed = (delay, str(e))  # the destination is down: the rest of the group waits
                return False
            return True
        except Exception as e:  # a sink bug must not take the dispatcher down
            log.exception("%s: delivery failed", sink.name)
            await self._retry_or_fail(alerts, f"{type(e).__name__}: {e}", False, result)
            return True
        # A coalesced batch message is not the alert's own message: never edit it in place later.
        message_id = _message_id(sink, sent) if editable else None
        self._marks.add(ids, self.clock.now(), message_id)
        result.sent += len(ids)
        result.messages += 1
        await self._marks.flush(unless_busy=True)
        return True

    async def _wait_for_target(
        self, alerts: Sequence[Alert], target: str | None, reason: str, result: DispatchResult
    ) -> None:
        if not alerts:
            return
        next_try = self.clock.now() + timedelta(seconds=self.policy.unreachable_retry)
        await self.store.alerts.mark_waiting([a.id for a in alerts], reason, next_try)
        result.waiting += len(alerts)

    async def _send_many(
        self,
        sink: BatchSink,
        target: str | None,
        rendered: list[tuple[list[Alert], OutgoingAlert]],
        result: DispatchResult,
    ) -> None:
        """Deliver a group's messages in one call and mark them sent in one transaction, after the sink
        confirmed all of them (a sink that writes a file: one flush to disk instead of one per alert)."""
        if not rendered:
            return
        alerts = [a for group, _ in rendered for a in group]
        ids = [a.id for a in alerts]
        try:
            await sink.deliver_many([outgoing for _, outgoing in rendered])
        except RateLimited as e:
            wait = e.retry_after + random.uniform(0.5, 2.0)
            result.waits.append(wait)
            await self.store.alerts.mark_retry(
                ids, self.clock.now() + timedelta(seconds=wait), str(e), count=False
            )
            result.retried += len(ids)
            return
        except TargetUnreachable as e:
            await self._wait_for_target(alerts, target, f"{e}: kept pending", result)
            return
        except DeliveryFailed as e:
            await self._retry_or_fail(alerts, str(e), e.permanent, result)
            return
        except Exception as e:  # a sink bug must not take the dispatcher down
            log.exception("%s: delivery failed", sink.name)
            await self._retry_or_fail(alerts, f"{type(e).__name__}: {e}", False, result)
            return
        await self.store.alerts.mark_sent(ids, self.clock.now())
        result.sent += len(ids)
        result.messages += len(rendered)

    async def _retry_or_fail(
        self,
        alerts: list[Alert],
        error: str,
        permanent: bool,
        result: DispatchResult,
        *,
        patient: bool = False,
    ) -> float | None:
        """Schedule the next try with exponential backoff; returns its delay, or None when given up.

        A `patient` sink's alerts are never given up for a transient failure: once the attempts are
        spent they wait for the destination, tried again every `unreachable_retry` seconds."""
        attempts = max(a.attempts for a in alerts) + 1
        ids = [a.id for a in alerts]
        if patient and not permanent and attempts >= self.policy.max_attempts:
            minutes = self.policy.unreachable_retry / 60
            reason = f"{error}: kept pending, tried again every {minutes:g} min"
            log.warning("%d alert(s) wait for their destination: %s", len(ids), reason)
            next_try = self.clock.now() + timedelta(seconds=self.policy.unreachable_retry)
            await self.store.alerts.mark_retry(ids, next_try, reason)
            result.waiting += len(ids)
            return self.policy.unreachable_retry
        if permanent or attempts >= self.policy.max_attempts:
            log.error("giving up on %d alert(s) after %d attempt(s): %s", len(ids), attempts, error)
            await self.store.alerts.mark_failed(ids, error)
            result.failed += len(ids)
            return None
        delay = float(backoff_delay(attempts, base=self.policy.base_backoff, cap=self.policy.max_backoff))
        await self.store.alerts.mark_retry(ids, self.clock.now() + timedelta(seconds=delay), error)
        result.retried += len(ids)
        return delay

    async def _claim(self, due: list[Alert]) -> list[Alert]:
        """Claim the due alerts in the shared outbox (one write for the batch): those another process
        claimed first are its to send. The claim lasts long enough for the batch's paced messages."""
        if not due:
            return []
        now = self.clock.now()
        paced = sum(
            sink.capabilities.min_interval for a in due if (sink := self.sinks.get(a.sink)) is not None
        )
        until = now + timedelta(seconds=self.policy.claim_seconds + paced)
        claimed = set(await self.store.alerts.claim([a.id for a in due], self.claimer, now, until))
        return [a for a in due if a.id in claimed]

    async def _pace(self, sink: AlertSink, target: str | None) -> None:
        """Wait for the chat's next free slot; slots are booked in the database, so the pace per chat
        holds across processes."""
        interval = sink.capabilities.min_interval
        if interval <= 0:
            return
        now = self.clock.now()
        at = await self.store.alerts.reserve_send(sink.name, target, interval, now)
        wait = (at - now).total_seconds()
        if wait > 0:
            await self.clock.sleep(wait)


class _SentMarks:
    """Delivered messages not marked sent yet. They are marked as soon as the store is free; while it
    commits a batch of posts, delivery goes on and the messages delivered meanwhile are marked together
    (one write instead of one wait each). A crash before the mark re-sends only those messages (at most
    MAX_UNMARKED); every pass of the dispatcher ends with all of them marked."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.pending: list[tuple[list[int], datetime, int | None]] = []

    def add(self, ids: list[int], at: datetime, message_id: int | None) -> None:
        self.pending.append((ids, at, message_id))

    def ids(self) -> set[int]:
        return {i for ids, _, _ in self.pending for i in ids}

    async def flush(self, *, unless_busy: bool = False) -> None:
        if not self.pending or (unless_busy and self.store.writing):
            return
        marks, self.pending = self.pending, []
        await self.store.alerts.mark_sent_many(marks)


def _message_id(sink: AlertSink, sent: SentMessage | None) -> int | None:
    """The chat message id of a delivered alert, when the sink reports one (0 means unknown)."""
    return sent.message_id if sent is not None and sent.message_id else None
