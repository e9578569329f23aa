"""HTTP header names of the protocol (lower case, as HTTP/2 and ASGI spell them)."""

from __future__ import annotations

from typing import Final

AUTHORIZATION: Final = "authorization"
CONTENT_TYPE: Final = "content-type"
ENV: Final = "x-inngest-env"
EVENT_ID_SEED: Final = "x-inngest-event-id-seed"
EXPECTED_SERVER_KIND: Final = "x-inngest-expected-server-kind"
FRAMEWORK: Final = "x-inngest-framework"
GENERATION_ID: Final = "x-inngest-generation-id"
JOB_ID: Final = "x-inngest-job-id"
NO_RETRY: Final = "x-inngest-no-retry"
REQUEST_ID: Final = "x-request-id"
REQUEST_VERSION: Final = "x-inngest-req-version"
RETRY_AFTER: Final = "retry-after"
RUN_ID: Final = "x-run-id"
SDK: Final = "x-inngest-sdk"
SDK_HANDLED: Final = "x-inngest-sdk-handled"
SERVER_KIND: Final = "x-inngest-server-kind"
SIGNATURE: Final = "x-inngest-signature"
STEP_ID: Final = "x-inngest-step-id"
# Stepstone's SDK only: the stored steps a call used, in order, with where each is in the source (a JSON
# array of `[hashed id, opcode, "file:line", parallel]`); the engine compares it with the run's history.
STEPS_USED: Final = "x-stepstone-steps-used"
SYNC_KIND: Final = "x-inngest-sync-kind"
# W3C trace context (`protocol.tracecontext`): the engine sends it on every call, whatever the SDK.
TRACEPARENT: Final = "traceparent"
USER_AGENT: Final = "user-agent"

SERVER_KIND_DEV: Final = "dev"
SERVER_KIND_CLOUD: Final = "cloud"

# The request version the engine announces; version 2 lets "force step plan" end once a
# parallel group has drained (inngest: pkg/execution/executor/force_step_plan.go).
PREFERRED_REQUEST_VERSION: Final = 2
