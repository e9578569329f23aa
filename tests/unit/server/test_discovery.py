"""Finding apps on this machine (`server.apps.discovery`): which ports, which answers count."""

from __future__ import annotations

from collections.abc import Mapping

from stepstone.server.apps import discovery
from stepstone.server.core.transport import AppResponse, TransportError


class Ports:
    """A machine: what answers `GET` at each URL; a port with no URL listed refuses connections."""

    def __init__(self, answers: dict[str, AppResponse | TransportError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def request(
        self, method: str, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, max_bytes: int
    ) -> AppResponse:
        assert method == "GET"
        self.asked.append(url)
        port = url.split(":")[2].split("/")[0]
        if url in self.answers:
            answer = self.answers[url]
            if isinstance(answer, TransportError):
                raise answer
            return answer
        if any(f":{port}/" in known for known in self.answers):
            return AppResponse(404, {}, b"not found")
        raise TransportError(f"cannot connect to {url}", kind="connect")

    async def close(self) -> None:
        pass


def sdk() -> AppResponse:
    return AppResponse(200, {"x-inngest-sdk": "stepstone:v0.1.0"}, b"{}")


async def test_an_app_is_a_get_answer_with_the_sdk_header_on_any_of_the_paths() -> None:
    machine = Ports(
        {
            "http://127.0.0.1:3000/api/inngest": AppResponse(200, {"content-type": "text/html"}, b"<html>"),
            "http://127.0.0.1:3000/x/inngest": sdk(),
            "http://127.0.0.1:8000/api/inngest": sdk(),
            "http://127.0.0.1:5173/api/inngest": TransportError("timed out", kind="timeout"),
        }
    )
    found = await discovery.scan(machine, (3000, 5173, 8000, 8080))
    assert found == ["http://127.0.0.1:3000/x/inngest", "http://127.0.0.1:8000/api/inngest"]
    # A port that refuses the first connection is not asked again; a slow one is asked on every path.
    assert [url for url in machine.asked if ":8080/" in url] == ["http://127.0.0.1:8080/api/inngest"]
    assert len([url for url in machine.asked if ":5173/" in url]) == len(discovery.PATHS)


def test_the_ports_are_inngests_and_port_without_the_engines_own() -> None:
    ports = discovery.ports({"PORT": "4567"}, exclude=[8288, 8000])
    assert ports[-1] == 4567 and 8000 not in ports and {80, 443, 3000, 3010, 5173, 8080, 8915} <= set(ports)
    assert discovery.ports({"PORT": "nope"}) == discovery.PORTS
    assert discovery.ports({"PORT": "3000"}) == discovery.PORTS  # listed once
    assert discovery.describe_ports((80, 443, 3000, 3001, 3002, 8080, 8081)) == "80, 443, 3000-3002, 8080, 8081"
