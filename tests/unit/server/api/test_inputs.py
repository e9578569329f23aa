"""The header rules every request meets: what counts as the same origin, and how bodies are labelled."""

from __future__ import annotations

from typing import Any

import pytest

from stepstone.server.api import inputs


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        (b"http://127.0.0.1:8288", b"127.0.0.1:8288", "http"),
        (b"http://LOCALHOST:8288", b"localhost:8288", "http"),
        (b"http://localhost", b"localhost:80", "http"),
        (b"http://localhost:80", b"localhost", "http"),
        (b"https://engine.example", b"engine.example", "https"),
        (b"http://[::1]:8288", b"[::1]:8288", "http"),
    ],
)
def test_the_same_origin(origin: bytes, host: bytes, scheme: str) -> None:
    assert inputs.same_origin(origin, host, scheme)


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        (b"null", b"localhost:8288", "http"),
        (b"http://localhost:3000", b"localhost:8288", "http"),
        (b"https://localhost:8288", b"localhost:8288", "http"),
        (b"http://evil.example", b"localhost", "http"),
        (b"http://localhost.evil.example", b"localhost", "http"),
        (b"http://localhost:notaport", b"localhost", "http"),
        (b"http://localhost:8288", None, "http"),
        (b"", b"localhost", "http"),
    ],
)
def test_another_origin(origin: bytes, host: bytes | None, scheme: str) -> None:
    assert not inputs.same_origin(origin, host, scheme)


def scope(method: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"type": "http", "method": method, "scheme": "http", "headers": [(b"host", b"localhost:8288"), *headers]}


@pytest.mark.parametrize("content_type", [b"application/x-www-form-urlencoded", b"text/plain;charset=utf-8", b"", None])
def test_a_body_of_another_or_no_content_type_is_labelled_json(content_type: bytes | None) -> None:
    request = scope("POST", *([(b"content-type", content_type)] if content_type is not None else []))
    assert inputs.screen(request, 1024) is None
    assert [value for name, value in request["headers"] if name == b"content-type"] == [b"application/json"]


@pytest.mark.parametrize(
    "content_type", [b"application/json", b"application/json; charset=utf-8", b"application/cloudevents+json"]
)
def test_a_json_content_type_is_kept(content_type: bytes) -> None:
    request = scope("POST", (b"content-type", content_type))
    assert inputs.screen(request, 1024) is None
    assert (b"content-type", content_type) in request["headers"]


def test_reads_are_not_screened() -> None:
    headers = ((b"origin", b"null"), (b"content-type", b"multipart/form-data"))
    request = scope("GET", *headers)
    assert inputs.screen(request, 1024) is None
    assert request["headers"] == scope("GET", *headers)["headers"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([(b"sec-fetch-site", b"cross-site")], 403),
        ([(b"origin", b"null")], 403),
        ([(b"content-type", b"multipart/form-data; boundary=x")], 415),
        ([(b"content-length", b"1025")], 413),
        ([(b"content-length", b"1024")], None),
        ([(b"sec-fetch-site", b"same-site")], None),  # another port of the same host: the Origin tells
    ],
)
def test_what_the_headers_alone_refuse(headers: list[tuple[bytes, bytes]], status: int | None) -> None:
    answer = inputs.screen(scope("DELETE", *headers), 1024)
    assert (answer.status_code if answer is not None else None) == status
