"""Parallel map-reduce: score every review of a product in parallel steps, then combine the scores."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import stepstone

client = stepstone.Stepstone(app_id="reviews")

POSITIVE = {"great", "love", "excellent", "good"}
NEGATIVE = {"bad", "broken", "awful", "refund"}


def score(review: str) -> int:
    """The map: one review's sentiment (in a real app, a call to a model or an API)."""
    words = re.findall(r"[a-z]+", review.lower())
    return sum(word in POSITIVE for word in words) - sum(word in NEGATIVE for word in words)


@client.create_function(fn_id="score-product", trigger=stepstone.TriggerEvent(event="shop/reviews.collected"))
async def score_product(ctx: stepstone.Context) -> dict[str, Any]:
    reviews: list[str] = ctx.event.data["reviews"]

    def score_step(n: int, review: str) -> Callable[[], Awaitable[int]]:
        return lambda: ctx.step.run(f"score-{n}", score, review)

    # One step per review, all started together: the engine runs them side by side, retries each alone
    # and memoizes each, so a retry of one never repeats the others. Each id comes from the review's
    # position in the event, the same on every call.
    scores = await ctx.group.parallel(tuple(score_step(n, review) for n, review in enumerate(reviews)))
    # The reduce runs in the function body: it is pure, and recomputing it from memoized scores is free.
    return {"reviews": len(scores), "total": sum(scores), "positive": sum(s > 0 for s in scores)}


functions = [score_product]
