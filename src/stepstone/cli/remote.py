"""A client of a running engine's REST API, for the CLI's management commands.

One method per call the commands make. Every failure is a `RemoteError` whose message is one line
fit to print: the engine's own error message when it refused, or "cannot reach the engine at URL"
when nothing answered. The signing key, when given, is sent as the SDKs send it (the SHA-256 of its
bytes as a Bearer token), never in the clear and never in a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from stepstone.protocol import signing

DEFAULT_URL = "http://127.0.0.1:8288"


class RemoteError(Exception):
    """The engine refused a request (`status` set) or could not be reached (`status` None).

    Attributes:
        status: the HTTP status of the refusal, None when no answer came.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Remote:
    """The REST API of the engine at `url` (one connection pool; close it, or use it as a context manager)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        signing_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {bearer(signing_key)}"} if signing_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """The decoded JSON answer of one request; a `RemoteError` for a refusal or no answer."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        try:
            response = self._http.request(method, path, params=query, json=body)
        except httpx.TransportError as err:
            raise RemoteError(f"cannot reach the engine at {self.url}: {describe(err)}") from None
        try:
            answer = response.json()
        except ValueError:
            raise RemoteError(
                f"the server at {self.url} answered {response.status_code} without JSON: is it a Stepstone engine?",
                response.status_code,
            ) from None
        if response.is_error:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise RemoteError(str(message or f"the engine answered {response.status_code}"), response.status_code)
        return answer

    # events
    def send_event(self, event: dict[str, Any], event_key: str) -> list[str]:
        answer = self.call("POST", f"/e/{quote(event_key, safe='')}", body=event)
        return list(answer.get("ids", []))

    def list_events(self, *, name: str | None, limit: int) -> list[dict[str, Any]]:
        return list(self.call("GET", "/v1/events", params={"name": name, "limit": limit})["data"])

    def get_event(self, event_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v1/events/{segment(event_id)}")["data"])

    def event_runs(self, event_id: str) -> dict[str, Any]:
        """`data` (the runs the event started), `skipped` and `waiting`."""
        return dict(self.call("GET", f"/v1/events/{segment(event_id)}/runs"))

    # runs
    def list_runs(self, *, status: str | None, function_id: str | None, limit: int) -> list[dict[str, Any]]:
        params = {"status": status, "function_id": function_id, "limit": limit}
        return list(self.call("GET", "/v1/runs", params=params)["data"])

    def run_changes(self, cursor: str, *, limit: int = 100) -> tuple[list[dict[str, Any]], str]:
        """Runs changed after `cursor` ("" for the start), oldest change first, and the next cursor."""
        answer = self.call("GET", "/v1/runs", params={"updated_after": cursor, "limit": limit})
        return list(answer["data"]), str(answer["cursor"])

    def get_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v1/runs/{segment(run_id)}")["data"])

    def cancel_run(self, run_id: str) -> dict[str, Any]:
        return dict(self.call("DELETE", f"/v1/runs/{segment(run_id)}")["data"])

    def rerun(self, run_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/v1/runs/{segment(run_id)}/rerun")["data"])

    # apps and functions
    def list_functions(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/v1/functions")["data"])

    def send_signal(self, name: str, data: Any) -> str | None:
        """The id of the run the signal resumed, or None when no run waits for it."""
        try:
            answer = self.call("POST", "/v1/signals", body={"signal": name, "data": data})
        except RemoteError as err:
            if err.status == 404:
                return None
            raise
        return str(answer["data"]["run_id"])

    def invoke(self, function_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The whole answer: `data` is the run, or null with `skipped` / `waiting` saying why none started."""
        return dict(self.call("POST", f"/v1/functions/{segment(function_id)}/invoke", body={"data": data}))

    def list_apps(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/v1/apps")["data"])

    def sync_app(self, url: str) -> dict[str, Any]:
        return dict(self.call("POST", "/v1/apps", body={"url": url})["data"])


def bearer(signing_key: str) -> str:
    """The Bearer token for a signing key: its hash, as the SDKs send it (the key itself if it is not hex)."""
    return signing.bearer_token(signing_key) if signing.signing_key_problem(signing_key) is None else signing_key


def segment(value: str) -> str:
    """`value` as one path segment (an id with a `/` or `?` stays one segment)."""
    return quote(value, safe="")


def describe(err: httpx.TransportError) -> str:
    """A transport error in a few words (httpx's own message, or its kind when it has none)."""
    text = str(err).strip().splitlines()
    return text[0] if text and text[0] else type(err).__name__
