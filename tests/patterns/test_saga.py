"""Saga (docs/patterns/saga.md): every booking made, or every booking undone."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import saga, services

from tests.patterns.conftest import Serve, run_of

TRIP = {"flight": "LH123", "hotel": "Ritz", "car": "compact"}


async def test_a_trip_books_all_three(engine: Serve) -> None:
    harness = await engine(saga)
    run = await run_of(harness, await harness.send("trip/requested", TRIP), "travel-book-trip")
    assert run["output"] == {"flight": "flight-1", "hotel": "hotel-2", "car": "car-3"}
    assert services.inventory.cancelled == []


async def test_when_the_car_cannot_be_booked_the_hotel_then_the_flight_are_cancelled(engine: Serve) -> None:
    harness = await engine(saga)
    services.inventory.unavailable.add("compact")
    event_id = await harness.send("trip/requested", TRIP)
    run = await run_of(harness, event_id, "travel-book-trip", step=timedelta(minutes=1))  # retries come due
    assert run["status"] == "Failed"
    assert "2 booking(s) undone" in run["output"]["message"]
    assert services.inventory.cancelled == ["hotel-2", "flight-1"]  # newest first, each once
