"""Registration: an app's function list replaces what the engine had for that app, atomically.

Validation runs before the transaction, so a sync with any invalid function changes nothing.
Functions are matched by slug, so a changed URL keeps a function's id; functions missing from a
sync are archived (they stop triggering). A sync identical to the last one changes nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import orjson

from stepstone.protocol import config as wire
from stepstone.server.functions import flow_rules
from stepstone.server.functions.registry import ConfigError, check_function, compile_function
from stepstone.server.intake import crons
from stepstone.server.queue.work import Work
from stepstone.server.store.records import AppRecord, FunctionRecord

_NAMESPACE = uuid.UUID("6f3b7a52-5c1e-4a8e-9a5e-2f1d0c7b9e41")


def app_uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"app:{name}"))


def function_uuid(app_name: str, slug: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"fn:{app_name}:{slug}"))


def checksum(request: wire.RegisterRequest) -> str:
    return hashlib.sha256(orjson.dumps(request.dump(), option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class SyncResult:
    app_id: str
    sync_id: str
    modified: bool
    archived: list[str]


def validate(request: wire.RegisterRequest) -> None:
    """Raise `ConfigError` listing every problem of every function (nothing is stored then)."""
    problems: list[str] = []
    if not request.app_name.strip():
        problems.append("appName: App ID required")
    if not request.url.strip():
        problems.append("url: the app's URL is required")
    slugs = [fn.id for fn in request.functions]
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        problems.append(f"function {slug!r}: registered twice in one sync")
    for fn in request.functions:
        problems.extend(check_function(fn))
    if problems:
        raise ConfigError(problems)


def register(work: Work, request: wire.RegisterRequest, digest: str) -> SyncResult:
    """Store the app and its functions (validated already); archive the app's others."""
    app_id = app_uuid(request.app_name)
    work.locks.lock_name(f"app:{request.app_name}", exclusive=True)
    existing = work.apps.get_app(request.app_name)
    sync_id = work.new_id()
    if existing is not None and existing.checksum == digest and existing.error is None:
        return SyncResult(app_id, sync_id, modified=False, archived=[])
    for fn in request.functions:
        owner = work.apps.get_function(fn.id)
        if owner is not None and owner.app_id != app_id and owner.archived_at is None:
            raise ConfigError([f"function {fn.id!r}: already registered by another app"])
    work.apps.upsert_app(
        AppRecord(
            id=app_id,
            name=request.app_name,
            url=request.url,
            sdk=request.sdk,
            framework=request.framework,
            app_version=request.app_version,
            checksum=digest,
            error=None,
            synced_at=work.now,
            created_at=existing.created_at if existing else work.now,
        )
    )
    for fn in request.functions:
        _store_function(work, app_id, request.app_name, fn)
    archived = work.apps.archive_functions(app_id, [fn.id for fn in request.functions], work.now)
    for function_id in archived:
        work.queue.delete_function_items(function_id, "cron")
    work.apps.bump_functions_version()
    return SyncResult(app_id, sync_id, modified=True, archived=archived)


def _store_function(work: Work, app_id: str, app_name: str, config: wire.FunctionConfig) -> None:
    existing = work.apps.get_function(config.id)
    config = flow_rules.normalize(config)
    config_json = orjson.dumps(config.dump(), option=orjson.OPT_SORT_KEYS).decode()
    version = 1
    if existing is not None:
        changed = existing.config_json != config_json or existing.archived_at is not None
        version = existing.version + 1 if changed else existing.version
    record = FunctionRecord(
        id=existing.id if existing else function_uuid(app_name, config.id),
        app_id=app_id,
        slug=config.id,
        name=config.name or config.id,
        config_json=config_json,
        version=version,
        archived_at=None,
        created_at=existing.created_at if existing else work.now,
        updated_at=work.now,
    )
    work.apps.upsert_function(record)
    if existing is None or version != existing.version:
        crons.schedule_function(work, compile_function(record))


def record_error(work: Work, app_name: str, url: str, error: str) -> None:
    """Remember why an app could not sync (shown by `GET /v1/apps`)."""
    existing = work.apps.get_app(app_name)
    work.apps.upsert_app(
        AppRecord(
            id=app_uuid(app_name),
            name=app_name,
            url=existing.url if existing else url,
            sdk=existing.sdk if existing else "",
            framework=existing.framework if existing else None,
            app_version=existing.app_version if existing else None,
            checksum=None,
            error=error,
            synced_at=existing.synced_at if existing else None,
            created_at=existing.created_at if existing else work.now,
        )
    )
