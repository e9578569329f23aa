"""A long job split into children: reindex a catalog of any size without one run nearing the step limit."""

from __future__ import annotations

import stepstone
from examples.patterns import services

client = stepstone.Stepstone(app_id="search")

CHUNK = 100  # documents per child run: 101 steps each, far below the 1,000-step limit of a run


def count_documents() -> int:
    return len(services.catalog.documents)  # in a real app: SELECT count(*)


@client.create_function(fn_id="reindex-catalog", trigger=stepstone.TriggerEvent(event="search/reindex.requested"))
async def reindex_catalog(ctx: stepstone.Context) -> int:
    total = await ctx.step.run("count-documents", count_documents)
    chunks = [
        stepstone.Event(
            name="search/reindex.chunk",
            id=f"reindex-{ctx.event.id}-{offset}",  # stable across calls: a re-sent chunk is a duplicate
            data={"offset": offset, "limit": CHUNK},
        )
        for offset in range(0, total, CHUNK)
    ]
    # One step sends every chunk's event: the parent stays at two steps whatever the catalog's size.
    await ctx.step.send_event("fan-out-chunks", chunks)
    return len(chunks)


@client.create_function(
    fn_id="reindex-chunk",
    trigger=stepstone.TriggerEvent(event="search/reindex.chunk"),
    concurrency=[stepstone.Concurrency(limit=4)],  # children share the search cluster: 4 at a time
)
async def reindex_chunk(ctx: stepstone.Context) -> int:
    documents = await ctx.step.run(
        "load-chunk", services.catalog.page, ctx.event.data["offset"], ctx.event.data["limit"]
    )
    for n, document in enumerate(documents):  # bounded by CHUNK
        await ctx.step.run(f"index-{n}", services.catalog.process, document)
    return len(documents)


functions = [reindex_catalog, reindex_chunk]
