"""Leases and the shared outbox, as every storage implementation must keep them (several watchers)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.models import ChannelRef
from bot.domain.records import WatcherBeat
from bot.domain.storage import Storage
from tests.storage.contract.test_contract import T0, alert, post, save

LEASE = 60.0


def beat(name: str, capacity: int = 100) -> WatcherBeat:
    return WatcherBeat(name=name, account=f"acct-{name}", host="host", pid=1, max_channels=capacity)


async def channels(storage: Storage, n: int) -> list[int]:
    async with storage.transaction() as tx:
        return [(await storage.channels.ensure(tx, ChannelRef(tg_id=5000 + i))).id for i in range(n)]


async def test_a_lone_watcher_holds_every_channel_it_sees_up_to_its_capacity(storage: Storage) -> None:
    ids = await channels(storage, 5)
    grant = await storage.leases.sync(beat("a", capacity=3), ids, T0, LEASE)
    assert len(grant.held) == 3
    assert set(grant.claimed) == set(grant.held)
    again = await storage.leases.sync(beat("a", capacity=3), ids, T0 + timedelta(seconds=20), LEASE)
    assert again.held == grant.held
    assert again.claimed == ()


async def test_two_watchers_never_hold_the_same_channel_and_share_fairly(storage: Storage) -> None:
    ids = await channels(storage, 6)
    a = await storage.leases.sync(beat("a"), ids, T0, LEASE)
    assert len(a.held) == 6
    b = await storage.leases.sync(beat("b"), ids, T0 + timedelta(seconds=1), LEASE)
    assert b.held == ()  # everything is held, and live
    assert b.next_free_at == T0 + timedelta(seconds=LEASE)  # when a's leases could run out
    a2 = await storage.leases.sync(beat("a"), ids, T0 + timedelta(seconds=2), LEASE)
    assert len(a2.surplus) == 3  # b has room and sees them: a hands three over
    await storage.leases.release("a", a2.surplus, T0 + timedelta(seconds=2))
    b2 = await storage.leases.sync(beat("b"), ids, T0 + timedelta(seconds=3), LEASE)
    a3 = await storage.leases.sync(beat("a"), ids, T0 + timedelta(seconds=4), LEASE)
    assert set(b2.held) == set(a2.surplus)
    assert not set(a3.held) & set(b2.held)
    assert len(a3.held) == 3
    assert a3.surplus == ()
    owners = {lease.channel_id: lease.owner for lease in await storage.leases.leases()}
    assert sorted(owners.values()) == ["a"] * 3 + ["b"] * 3


async def test_a_channel_only_one_watcher_sees_is_never_handed_over(storage: Storage) -> None:
    ids = await channels(storage, 4)
    await storage.leases.sync(beat("a"), ids, T0, LEASE)
    await storage.leases.sync(beat("b"), ids[:1], T0, LEASE)  # b sees only the first channel
    grant = await storage.leases.sync(beat("a"), ids, T0 + timedelta(seconds=1), LEASE)
    assert set(grant.surplus) <= {ids[0]}


async def test_a_watcher_that_stops_renewing_loses_its_channels_after_the_lease(storage: Storage) -> None:
    ids = await channels(storage, 4)
    await storage.leases.sync(beat("a", capacity=2), ids, T0, LEASE)
    b = await storage.leases.sync(beat("b", capacity=2), ids, T0, LEASE)
    assert len(b.held) == 2
    early = await storage.leases.sync(beat("b", capacity=4), ids, T0 + timedelta(seconds=LEASE - 1), LEASE)
    assert len(early.held) == 2  # a's leases still run
    late = await storage.leases.sync(beat("b", capacity=4), ids, T0 + timedelta(seconds=LEASE + 1), LEASE)
    assert len(late.held) == 4
    assert len(late.claimed) == 2
    back = await storage.leases.sync(beat("a", capacity=2), ids, T0 + timedelta(seconds=LEASE + 2), LEASE)
    assert back.held == ()  # a comes back and finds them taken


async def test_a_clean_stop_releases_at_once_and_the_watcher_shows_stopped(storage: Storage) -> None:
    ids = await channels(storage, 2)
    await storage.leases.sync(beat("a"), ids, T0, LEASE)
    assert await storage.leases.lead("jobs", "a", T0, LEASE)
    assert not await storage.leases.lead("jobs", "b", T0, LEASE)
    await storage.leases.stop("a", T0 + timedelta(seconds=1))
    assert await storage.leases.lead("jobs", "b", T0 + timedelta(seconds=1), LEASE)
    b = await storage.leases.sync(beat("b"), ids, T0 + timedelta(seconds=2), LEASE)
    assert len(b.held) == 2
    (a_row, b_row) = await storage.leases.watchers()
    assert a_row.stopped_at is not None
    assert a_row.channels_held == 0
    assert b_row.channels_held == 2
    assert b_row.account == "acct-b"
    leases = await storage.leases.leases()
    assert {lease.owner for lease in leases} == {"b"}


async def test_channels_no_longer_seen_are_released(storage: Storage) -> None:
    ids = await channels(storage, 3)
    await storage.leases.sync(beat("a"), ids, T0, LEASE)
    grant = await storage.leases.sync(beat("a"), ids[:1], T0 + timedelta(seconds=1), LEASE)
    assert grant.held == (ids[0],)
    unowned = [lease for lease in await storage.leases.leases() if lease.owner is None]
    assert {lease.channel_id for lease in unowned} == set(ids[1:])


async def test_an_alert_is_claimed_by_one_dispatcher_until_its_claim_expires(storage: Storage) -> None:
    (post_id,) = await save(storage, post(1, "evacuated"))
    async with storage.transaction() as tx:
        await storage.alerts.enqueue(tx, [alert(post_id, "k1"), alert(post_id, "k2")], T0)
    due = await storage.alerts.due(T0)
    ids = [a.id for a in due]
    until = T0 + timedelta(seconds=30)
    assert await storage.alerts.claim(ids, "a", T0, until) == ids
    assert await storage.alerts.claim(ids, "b", T0, until) == []
    assert await storage.alerts.due(T0, claimer="b") == []  # b does not see a's claims
    assert [a.id for a in await storage.alerts.due(T0, claimer="a")] == ids  # a does
    await storage.alerts.mark_sent(ids[:1], T0)  # sending ends the claim
    later = T0 + timedelta(seconds=31)
    assert [a.id for a in await storage.alerts.due(later, claimer="b")] == ids[1:]  # a crashed: expired
    assert await storage.alerts.claim(ids, "b", later, later + timedelta(seconds=30)) == ids[1:]
    assert await storage.alerts.release_claims("b") == 1
    assert [a.id for a in await storage.alerts.due(later, claimer="c")] == ids[1:]


async def test_pacing_per_chat_is_booked_across_dispatchers(storage: Storage) -> None:
    first = await storage.alerts.reserve_send("telegram", "@desk", 3.0, T0)
    second = await storage.alerts.reserve_send("telegram", "@desk", 3.0, T0)
    other = await storage.alerts.reserve_send("telegram", "@other", 3.0, T0)
    assert first == T0
    assert second == T0 + timedelta(seconds=3)
    assert other == T0
    later = await storage.alerts.reserve_send("telegram", "@desk", 3.0, T0 + timedelta(seconds=60))
    assert later == T0 + timedelta(seconds=60)


async def test_access_hashes_are_kept_per_watcher(storage: Storage) -> None:
    from bot.domain.ports import ResolvedChannel

    mine = ResolvedChannel(tg_id=777, username="news", title="News", access_hash=111, joined=True)
    await storage.watch.remember("news", mine, "ok", T0)  # one watcher, before leases: the plain cache
    first = await storage.watch.cached("news", "a")
    assert first is not None
    assert first.resolved.access_hash == 111
    await storage.watch.remember("news", mine, "ok", T0, "a")
    assert await storage.watch.cached("news", "b") is None  # b's account must resolve it itself
    theirs = ResolvedChannel(tg_id=777, username="news", title="News", access_hash=222, joined=False)
    await storage.watch.remember("news", theirs, "ok", T0, "b")
    a, b = await storage.watch.cached("news", "a"), await storage.watch.cached("news", "b")
    assert a is not None
    assert b is not None
    assert (a.resolved.access_hash, a.resolved.joined) == (111, True)
    assert (b.resolved.access_hash, b.resolved.joined) == (222, False)
    assert a.channel_id == b.channel_id  # one channel row, shared
