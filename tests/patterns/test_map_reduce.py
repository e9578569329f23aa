"""Parallel map-reduce (docs/patterns/map-reduce.md): parallel steps, one reduced answer."""

from __future__ import annotations

from examples.patterns import map_reduce

from tests.patterns.conftest import Serve, run_of

REVIEWS = ["Great phone, love it", "Arrived broken, want a refund", "Good value", "It is a phone"]


async def test_every_review_is_scored_in_its_own_step_and_the_scores_are_combined(engine: Serve) -> None:
    harness = await engine(map_reduce)
    event_id = await harness.send("shop/reviews.collected", {"product": "p1", "reviews": REVIEWS})
    run = await run_of(harness, event_id, "reviews-score-product")
    assert run["output"] == {"reviews": 4, "total": 1, "positive": 2}
    scored = {step["id"]: step["output"] for step in run["steps"]}
    assert scored == {"score-0": 2, "score-1": -2, "score-2": 1, "score-3": 0}
