"""The call request body and headers the engine sends to an app (inngest: pkg/execution/driver).

The body is assembled from the JSON text the store already holds (events and memos are never
decoded and re-encoded on the way out), so a call costs the bytes it carries. With a signing key
the body is canonicalized (JCS) before it is signed, as the SDKs verify the canonical form.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from stepstone.protocol import headers as h
from stepstone.protocol import signing, stepids, tracecontext
from stepstone.server.core.clock import wall_ms
from stepstone.server.core.settings import EngineSettings
from stepstone.server.runs.transitions import CallPlan
from stepstone.server.store.records import QueueItemRecord


def call_url(registered_url: str, target: str) -> str:
    """The registered step URL with `stepId` set to the target (or `step`: discover)."""
    base, _, query = registered_url.partition("?")
    params = [part for part in query.split("&") if part and not part.startswith("stepId=")]
    params.append(f"stepId={target or stepids.UNTARGETED}")
    return f"{base}?{'&'.join(params)}"


def _join(parts: Iterable[bytes]) -> bytes:
    return b",".join(parts)


def build_body(plan: CallPlan, item: QueueItemRecord, settings: EngineSettings) -> bytes:
    """The call request body; over the size limit, memos (then events) are left for `use_api`."""
    run = plan.run
    events = [text.encode() for text in plan.events_json]
    memos = [orjson.dumps(hashed) + b":" + memo.encode() for hashed, memo in plan.memos]
    # A step a rerun gave a new input: the TypeScript SDK runs it with that input (not in the stack: not done).
    memos += [orjson.dumps(hashed) + b':{"input":' + given.encode() + b"}" for hashed, given in plan.inputs.items()]
    stack = [hashed for hashed, _ in plan.memos]
    size = sum(map(len, events)) * 2 + sum(map(len, memos))
    use_api = size > settings.limits.max_call_body_bytes
    listed = events
    if use_api:
        memos = []
        if sum(map(len, events)) * 2 > settings.limits.max_call_body_bytes:
            listed = []
    ctx = {
        "attempt": item.attempt,
        "disable_immediate_execution": run.force_plan,
        "env": "",
        "fn_id": plan.function.id,
        "generation_id": item.generation,
        "max_attempts": plan.function.max_attempts,
        "qi_id": item.id,
        "request_id": f"{item.id}:{item.generation}",
        "run_id": run.id,
        "stack": {"current": len(stack), "stack": stack},
        "step_id": item.target or stepids.UNTARGETED,
        "use_api": use_api,
    }
    body = b"".join(
        [
            b'{"ctx":',
            orjson.dumps(ctx),
            b',"defers":{},"event":',
            events[0],
            b',"events":[',
            _join(listed),
            b'],"steps":{',
            _join(memos),
            b'},"use_api":',
            b"true" if use_api else b"false",
            b',"version":',
            str(run.request_version).encode(),
            b"}",
        ]
    )
    return signing.canonicalize(body) if settings.signing_key else body


def build_headers(plan: CallPlan, item: QueueItemRecord, body: bytes, settings: EngineSettings) -> dict[str, str]:
    headers = {
        h.CONTENT_TYPE: "application/json",
        h.RUN_ID: plan.run.id,
        h.JOB_ID: item.id,
        h.REQUEST_ID: f"{item.id}:{item.generation}",
        h.REQUEST_VERSION: str(plan.run.request_version),
        h.STEP_ID: item.target or stepids.UNTARGETED,
        h.USER_AGENT: "stepstone-engine",
        # Always sent (a tracer, when configured, sets its sampling flag): an app tracing on its own
        # groups its spans by run, under the targeted step's span or the call's.
        h.TRACEPARENT: tracecontext.format_traceparent(
            tracecontext.trace_id(plan.run.id),
            tracecontext.call_parent_span_id(plan.run.id, item.target, item.id, item.generation, item.attempt),
        ),
    }
    if item.generation > 0:
        headers[h.GENERATION_ID] = str(item.generation)
    if settings.signing_key:
        headers[h.SIGNATURE] = signing.sign_canonical_request(body, settings.signing_key, at=wall_ms() // 1000)
    return headers
