"""A rate-limited API (docs/patterns/rate-limited-api.md): never more than two requests per tenant at once."""

from __future__ import annotations

from examples.patterns import rate_limited_api, services

from tests.patterns.conftest import Serve, settled


async def test_each_tenant_stays_under_the_partners_limit_and_no_request_is_refused(engine: Serve) -> None:
    harness = await engine(rate_limited_api)
    for n in range(5):
        for tenant in ("acme", "globex"):
            await harness.send("reports/requested", {"tenant_id": tenant, "report": f"r{n}"})
    runs = await settled(harness, "reports-fetch-partner-report", 10)  # the clock stands still: no 429 retries
    assert {run["status"] for run in runs} == {"Completed"}
    assert services.partner_api.refused == 0
    assert set(services.partner_api.most.values()) <= {1, 2}
