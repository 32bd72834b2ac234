"""The relevance part of the storage port: marks from the alerts' reviews, models, precision after scoring."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.storage import Storage
from tests.storage.contract.test_contract import T0, alert, post, save


async def test_marks_are_one_per_reviewed_post_with_its_newest_mark_and_text(storage: Storage) -> None:
    first, second, third = await save(storage, post(1, "жители"), post(2, "эвакуатор"), post(3, "тишина"))
    async with storage.transaction() as tx:
        await storage.alerts.enqueue(tx, [alert(first, "a"), replace(alert(first, "b"), route="desk")], T0)
        await storage.alerts.enqueue(tx, [alert(second, "c"), alert(third, "d")], T0)
    ids = {r["post_id"]: r["id"] for r in await storage.alerts.listing()}
    await storage.alerts.review(ids[first], "false_positive", "bob", T0)
    await storage.alerts.review(ids[first], "relevant", "alice", T0.replace(minute=5))
    await storage.alerts.review(ids[second], "false_positive", "alice", T0)
    marks = await storage.relevance.marks("evacuation")
    assert [(m.post_id, m.text, m.relevant) for m in marks] == [
        (first, "жители", True),
        (second, "эвакуатор", False),
    ]
    counts = (await storage.relevance.mark_counts())["evacuation"]
    assert (counts.relevant, counts.false_positive, counts.total) == (1, 1, 2)


async def test_a_model_is_saved_replaced_listed_and_forgotten(storage: Storage) -> None:
    await storage.relevance.save_model("evacuation", '{"v": 1}', 20, 20, 40, T0)
    await storage.relevance.save_model("evacuation", '{"v": 2}', 25, 20, 45, T0)
    await storage.relevance.save_model("shelling", '{"v": 3}', 30, 21, 51, T0)
    [model] = await storage.relevance.models(["evacuation"])
    assert (model.model, model.relevant, model.marks_seen, model.trained_at) == ('{"v": 2}', 25, 45, T0)
    assert await storage.relevance.forget(["evacuation"]) == 1
    assert [m.rule for m in await storage.relevance.models()] == ["shelling"]
    assert await storage.relevance.forget() == 1


async def test_precision_after_scoring_counts_only_alerts_sent_at_once(storage: Storage) -> None:
    ids = await save(storage, post(1, "a"), post(2, "b"), post(3, "c"))
    async with storage.transaction() as tx:
        await storage.alerts.enqueue(
            tx,
            [
                replace(alert(ids[0], "k1"), score=0.9),
                replace(alert(ids[1], "k2"), score=0.05, demoted=True),
                replace(alert(ids[2], "k3"), score=0.7),
            ],
            T0,
        )
    rows = {r["post_id"]: r for r in await storage.alerts.listing()}
    assert (rows[ids[1]]["score"], rows[ids[1]]["demoted"]) == (0.05, 1)
    await storage.alerts.review(rows[ids[0]]["id"], "relevant", "a", T0)
    await storage.alerts.review(rows[ids[1]]["id"], "false_positive", "a", T0)
    await storage.alerts.review(rows[ids[2]]["id"], "false_positive", "a", T0)
    p = (await storage.relevance.precision())["evacuation"]
    assert (p.before, p.after, p.demoted) == (1 / 3, 0.5, 1)
