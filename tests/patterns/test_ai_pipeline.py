"""AI pipeline (docs/patterns/ai-pipeline.md): a flaky model is retried; a dead one reaches the failure handler."""

from __future__ import annotations

from datetime import timedelta

from examples.patterns import ai_pipeline, services

from tests.patterns.conftest import Serve, run_of, settled

DOCUMENT = {"document_id": "d1", "body": "Quarterly   results\nwere good."}


async def test_an_overloaded_model_is_retried_until_it_answers(engine: Serve) -> None:
    harness = await engine(ai_pipeline)
    services.llm.fail_first = 2
    event_id = await harness.send("docs/document.uploaded", DOCUMENT)
    run = await run_of(harness, event_id, "docs-ai-summarize-document", step=timedelta(minutes=1))
    assert run["output"] == {"document_id": "d1", "summary": "summary of: Summarize: Quarterly results were good."}
    assert services.llm.calls == 3
    assert services.mailer.sent == []


async def test_a_model_that_never_answers_fails_the_run_and_alerts_an_editor(engine: Serve) -> None:
    harness = await engine(ai_pipeline)
    services.llm.down = True
    event_id = await harness.send("docs/document.uploaded", DOCUMENT)
    run = await run_of(harness, event_id, "docs-ai-summarize-document", step=timedelta(minutes=2))
    assert run["status"] == "Failed"
    assert services.llm.calls == 4  # the first attempt and 3 retries
    [handler] = await settled(harness, "docs-ai-summarize-document-failure")
    assert handler["status"] == "Completed"
    assert services.mailer.sent == [("editors@example.com", "Summary of d1 failed: 503 model overloaded")]
    assert services.crm.writes == 0
