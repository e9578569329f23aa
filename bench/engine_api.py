"""The engine's event and REST APIs, as the benchmark drives them (a sync httpx client)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Collection
from datetime import datetime
from typing import Any

import httpx

FUNCTIONS = ("bench-three-steps", "bench-ten-steps", "bench-hundred-steps")
POLL_SECONDS = 0.05  # often enough to start the next run soon; rarely enough not to load the engine much
PAGE = 500


class RunTimeoutError(RuntimeError):
    """Runs did not complete in time (the engine or the SDK is stuck); the message says which."""


def stamp(iso: str) -> float:
    """Seconds since the epoch of a REST timestamp (`2026-11-24T19:38:19.746Z`)."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class EngineApi:
    """The engine's event and REST APIs, as the benchmark uses them."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60.0)
        # Events go out on a bare keep-alive connection: the latency measured starts before the send,
        # and a client library's own overhead (httpx's is about a millisecond) is not the engine's.
        parsed = httpx.URL(base_url)
        self._events = http.client.HTTPConnection(parsed.host, parsed.port, timeout=60.0)

    def close(self) -> None:
        self.http.close()
        self._events.close()

    def synced(self, serve_url: str, function_ids: Collection[str] = FUNCTIONS) -> bool:
        """Whether the engine serves the functions from `serve_url` (not an older sync's URL)."""
        found = {
            fn["id"]
            for fn in self.http.get("/v1/functions").json()["data"]
            if fn["config"]["steps"]["step"]["runtime"]["url"].startswith(serve_url + "?")
        }
        return set(function_ids) <= found

    def send(self, name: str, count: int = 1) -> list[str]:
        """Send `count` events in one request; return their ids."""
        return self.send_data(name, [{"i": index} for index in range(count)])

    def send_data(self, name: str, data: list[dict[str, Any]]) -> list[str]:
        """Send one request of events named `name`, one per payload; return their ids."""
        events = [{"name": name, "data": payload} for payload in data]
        body = json.dumps(events if len(events) > 1 else events[0]).encode()
        try:
            response = self._post_events(body)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self._events.close()  # the server closed the idle keep-alive connection: open a new one
            response = self._post_events(body)
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"the event API answered {response.status}: {answer[:200]!r}")
        ids: list[str] = json.loads(answer)["ids"]
        return ids

    def _post_events(self, body: bytes) -> http.client.HTTPResponse:
        self._events.request("POST", "/e/bench-key", body=body, headers={"content-type": "application/json"})
        return self._events.getresponse()

    def run_of_event(self, event_id: str, timeout: float) -> dict[str, Any]:
        """The event's run once it has ended.

        The first poll comes `POLL_SECONDS` after the call, not at once: a poll is a request the engine
        serves, and one sent while the run goes on competes with it (measured: about a millisecond of a
        10-step run). Times come from the run's own stamps, so the wait does not enter them.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            runs = self.http.get(f"/v1/events/{event_id}/runs").json()["data"]
            if runs and runs[0]["ended_at"] is not None:
                run: dict[str, Any] = runs[0]
                return run
        raise RunTimeoutError(f"the run of event {event_id} did not end within {timeout:g} s")

    def run(self, run_id: str) -> dict[str, Any]:
        data: dict[str, Any] = self.http.get(f"/v1/runs/{run_id}").json()["data"]
        return data

    def completed_runs(self, function_id: str) -> list[dict[str, Any]]:
        """Every Completed run of the function, page by page."""
        found: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"status": "Completed", "function_id": function_id, "limit": PAGE}
        while True:
            page = self.http.get("/v1/runs", params=params).json()
            found.extend(page["data"])
            if page["cursor"] is None:
                return found
            params["cursor"] = page["cursor"]  # an empty `cursor=` would read as a cursor, not as "first page"
