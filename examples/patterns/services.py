"""Stand-ins for the outside world the patterns talk to: a mailer, a payment provider, an LLM, and so on.

Each is an in-memory object that records what it was asked to do, so the patterns' tests can check the
effects (an email sent once, a card charged once). In a real app these are HTTP clients or a database;
the patterns call them only from inside steps. Imports nothing of Stepstone's.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


class ServiceError(Exception):
    """A call to a stand-in service failed (a timeout, a 500, a refusal)."""


class RateLimitedError(ServiceError):
    """The third-party API answered 429; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"429 Too Many Requests: retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Mailer:
    """An email provider: `send` records each message."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, subject: str) -> str:
        self.sent.append((to, subject))
        return f"msg-{len(self.sent)}"


@dataclass
class Inventory:
    """Flights and hotels: bookings that can be cancelled; `unavailable` hotels refuse."""

    booked: dict[str, str] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)
    unavailable: set[str] = field(default_factory=set)

    def book(self, kind: str, what: str) -> str:
        if what in self.unavailable:
            raise ServiceError(f"{kind} {what} is fully booked")
        reference = f"{kind}-{len(self.booked) + 1}"
        self.booked[reference] = what
        return reference

    def cancel(self, reference: str) -> None:
        self.cancelled.append(reference)


@dataclass
class Payments:
    """A payment provider that honours idempotency keys, as Stripe does.

    `lose_answers` answers that many successful charges with a timeout instead, the way a network
    failure loses the response after the card was charged.
    """

    charges: dict[str, int] = field(default_factory=dict)
    lose_answers: int = 0

    def charge(self, customer: str, cents: int, *, idempotency_key: str) -> str:
        if idempotency_key not in self.charges:
            self.charges[idempotency_key] = cents
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise ServiceError("timed out waiting for the payment provider")
        return f"ch_{idempotency_key}"


@dataclass
class Crm:
    """A CRM whose contacts are written one API call at a time."""

    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: int = 0

    def upsert(self, contact_id: str, fields: dict[str, Any]) -> None:
        self.writes += 1
        self.contacts[contact_id] = fields


@dataclass
class Warehouse:
    """A database that prefers one bulk insert to many small ones."""

    inserts: list[list[dict[str, Any]]] = field(default_factory=list)
    expired_sessions: int = 0

    def insert_many(self, rows: list[dict[str, Any]]) -> int:
        self.inserts.append(rows)
        return len(rows)

    def delete_expired_sessions(self, limit: int) -> int:
        deleted = min(limit, self.expired_sessions)
        self.expired_sessions -= deleted
        return deleted


@dataclass
class PartnerApi:
    """A third-party API allowing `per_tenant` requests at once per tenant; more get a 429."""

    per_tenant: int = 2
    in_flight: Counter[str] = field(default_factory=Counter)
    most: Counter[str] = field(default_factory=Counter)
    refused: int = 0

    async def fetch_report(self, tenant: str, report: str) -> dict[str, str]:
        if self.in_flight[tenant] >= self.per_tenant:
            self.refused += 1
            raise RateLimitedError(retry_after=30)
        self.in_flight[tenant] += 1
        self.most[tenant] = max(self.most[tenant], self.in_flight[tenant])
        try:
            await asyncio.sleep(0.02)  # the request takes a moment, so requests of one tenant could overlap
        finally:
            self.in_flight[tenant] -= 1
        return {"tenant": tenant, "report": report, "status": "ready"}


@dataclass
class JobService:
    """An external batch job (a video transcode, a data export) that is done after `checks_needed` polls."""

    checks_needed: int = 3
    checks: int = 0

    def start(self, source: str) -> str:
        return f"job-{source}"

    def status(self, job_id: str) -> dict[str, str]:
        self.checks += 1
        if self.checks < self.checks_needed:
            return {"state": "running"}
        return {"state": "done", "url": f"https://files.example.com/{job_id}.mp4"}


@dataclass
class Llm:
    """A language model that fails its first `fail_first` calls (overloaded), or every call when `down`."""

    fail_first: int = 0
    down: bool = False
    calls: int = 0

    def complete(self, prompt: str) -> str:
        self.calls += 1
        if self.down or self.calls <= self.fail_first:
            raise ServiceError("503 model overloaded")
        return f"summary of: {prompt[:40]}"


@dataclass
class Catalog:
    """Documents to process in bulk; `scored` and `processed` record the work done."""

    documents: list[str] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)

    def page(self, offset: int, limit: int) -> list[str]:
        return self.documents[offset : offset + limit]

    def process(self, document: str) -> None:
        self.processed.append(document)


mailer = Mailer()
inventory = Inventory()
payments = Payments()
crm = Crm()
warehouse = Warehouse()
partner_api = PartnerApi()
jobs = JobService()
llm = Llm()
catalog = Catalog()


def reset() -> None:
    """Forget everything the stand-ins recorded (tests call it between patterns)."""
    for service in (mailer, inventory, payments, crm, warehouse, partner_api, jobs, llm, catalog):
        fresh = type(service)()
        service.__dict__.update(fresh.__dict__)
