"""An AI pipeline: extract, summarize with a flaky model, store; a failure handler tells a human when it gives up."""

from __future__ import annotations

from typing import Any

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="docs-ai")


def extract_text(document: dict[str, str]) -> str:
    return " ".join(document["body"].split())  # in a real app: a PDF parser or an OCR call


async def alert_editor(ctx: stepstone.Context) -> str:
    """Runs once the pipeline has failed for good, with the failure and the run's first event."""
    document_id = ctx.event.data["event"]["data"]["document_id"]
    error = ctx.event.data["error"]["message"]
    return await ctx.step.run(
        "alert-editor", services.mailer.send, "editors@example.com", f"Summary of {document_id} failed: {error}"
    )


@client.create_function(
    fn_id="summarize-document",
    trigger=stepstone.TriggerEvent(event="docs/document.uploaded"),
    retries=3,  # each step gets 1 + 3 attempts, with backoff between them
    concurrency=[stepstone.Concurrency(limit=5)],  # the model's quota: 5 calls at once across all runs
    on_failure=alert_editor,
)
async def summarize_document(ctx: stepstone.Context) -> dict[str, Any]:
    document = ctx.event.data
    text = await ctx.step.run("extract-text", extract_text, document)
    # The expensive, flaky call is a step of its own: an overloaded model is retried on its own, and once
    # it has answered, a later failure (storing) never pays for the call again.
    summary = await ctx.step.run("summarize", services.llm.complete, f"Summarize: {text}")
    await ctx.step.run("store-summary", services.crm.upsert, document["document_id"], {"summary": summary})
    return {"document_id": document["document_id"], "summary": summary}


functions = [summarize_document]
