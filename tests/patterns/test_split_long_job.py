"""A long job split into children (docs/patterns/split-long-job.md): 250 documents, 3 child runs."""

from __future__ import annotations

from examples.patterns import services, split_long_job

from tests.patterns.conftest import Serve, run_of, settled


async def test_the_parent_fans_out_one_child_per_chunk_and_every_document_is_indexed_once(engine: Serve) -> None:
    harness = await engine(split_long_job)
    services.catalog.documents = [f"doc-{n}" for n in range(250)]
    event_id = await harness.send("search/reindex.requested")
    parent = await run_of(harness, event_id, "search-reindex-catalog")
    assert parent["output"] == 3 and len(parent["steps"]) == 2
    children = await settled(harness, "search-reindex-chunk", 3)
    assert sorted(child["output"] for child in children) == [50, 100, 100]
    assert sorted(services.catalog.processed) == sorted(services.catalog.documents)
