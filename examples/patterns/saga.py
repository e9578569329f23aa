"""Saga: book a trip in three steps; when one fails for good, undo the ones done, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="travel")


@client.create_function(fn_id="book-trip", trigger=stepstone.TriggerEvent(event="trip/requested"), retries=2)
async def book_trip(ctx: stepstone.Context) -> dict[str, Any]:
    trip = ctx.event.data
    undo: list[tuple[str, Callable[[], None]]] = []  # (step id, compensation), rebuilt the same on each call
    try:
        flight = await ctx.step.run("book-flight", services.inventory.book, "flight", trip["flight"])
        undo.append(("cancel-flight", lambda: services.inventory.cancel(flight)))
        hotel = await ctx.step.run("book-hotel", services.inventory.book, "hotel", trip["hotel"])
        undo.append(("cancel-hotel", lambda: services.inventory.cancel(hotel)))
        car = await ctx.step.run("book-car", services.inventory.book, "car", trip["car"])
    except stepstone.StepError as failure:  # a step failed for good: its retries are spent
        for step_id, compensate in reversed(undo):
            await ctx.step.run(step_id, compensate)  # each compensation is a step: retried, and run once
        raise stepstone.NonRetriableError(f"trip not booked, {len(undo)} booking(s) undone: {failure}") from None
    return {"flight": flight, "hotel": hotel, "car": car}


functions = [book_trip]
