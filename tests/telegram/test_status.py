"""`telewatch status` figures come from the store: per channel last post, last check, lag, errors, floods."""

from __future__ import annotations

from datetime import timedelta

from bot.cli.live import collect_status
from tests.fakes import FakeTelegram
from tests.telegram.conftest import MakeRig
from tests.telegram.harness import channel


async def test_status_reports_each_channel_and_the_last_long_flood_wait(rigs: MakeRig) -> None:
    fake = FakeTelegram()
    fake.add_channel("alpha", tg_id=11)
    fake.add_channel("gone", tg_id=12)
    await fake.connect()
    rig = await rigs(fake, [channel("@alpha"), channel("@gone")])
    await rig.watcher.resolve_all()
    await rig.watcher.catch_up_all()
    await fake.publish("alpha", "evacuated")
    fake.channel("gone").banned = True
    fake.add_post("alpha", "missed")
    fake.flood("latest", 120)
    for w in rig.watcher.watched.values():
        await rig.watcher.gap_check(w)
    data = await collect_status(rig.store, rig.clock.now() + timedelta(minutes=5))
    by_name = {c["channel"]: c for c in data["channels"]}
    alpha, gone = by_name["@alpha"], by_name["@gone"]
    assert (alpha["state"], alpha["last_message_id"], alpha["complete_to"], alpha["errors"]) == (
        "ok",
        2,
        2,
        0,
    )
    assert alpha["last_checked_at"] is not None
    assert alpha["since_last_post_s"] is not None
    assert (gone["state"], gone["errors"]) == ("banned", 1)
    assert "banned" in gone["last_error"]
    assert data["last_flood"]["seconds"] == 120
