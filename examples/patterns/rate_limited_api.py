"""A rate-limited third-party API: at most two requests at once per tenant, and a 429 waits its turn."""

from __future__ import annotations

from datetime import timedelta

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="reports")


async def fetch_report(tenant: str, report: str) -> dict[str, str]:
    try:
        return await services.partner_api.fetch_report(tenant, report)
    except services.RateLimitedError as limited:  # retry when the API says, not on the default backoff
        raise stepstone.RetryAfterError(str(limited), timedelta(seconds=limited.retry_after)) from limited


@client.create_function(
    fn_id="fetch-partner-report",
    trigger=stepstone.TriggerEvent(event="reports/requested"),
    # The partner allows 2 requests at once per customer account: a limit per tenant, so one busy
    # tenant queues behind itself and never holds back the others.
    concurrency=[stepstone.Concurrency(limit=2, key="event.data.tenant_id")],
)
async def fetch_partner_report(ctx: stepstone.Context) -> dict[str, str]:
    request = ctx.event.data
    return await ctx.step.run("fetch-report", fetch_report, request["tenant_id"], request["report"])


functions = [fetch_partner_report]
