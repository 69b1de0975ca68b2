"""Sending recomputation work to the broker, with bursts coalesced and the broker optional.

``enqueue_recompute(schema, school_id)`` is called after a write has committed (and by the
sweep). It never raises: the durable ``PendingRecompute`` marker is what guarantees the
work, the message only makes it fast.

Coalescing: before publishing, ``SET sovei:recompute:<schema>:<school> NX EX 120`` in the
broker's Redis. While the key exists a task for that school is queued and has not started,
so a further write needs no message of its own: that task will read the newer records.
The task deletes the key as its first action (``release``), so a write that commits after
the task started publishes a new one. The TTL only bounds the damage of a lost message
(the marker is swept anyway).
"""

from __future__ import annotations

import enum
import logging
from functools import lru_cache
from typing import Any

import redis
from redis.exceptions import RedisError

from sovei_platform.celery import app

logger = logging.getLogger(__name__)

COALESCE_TTL_SECONDS = 120
# A message older than this is dropped by the worker: by then the sweep has sent a new one.
MESSAGE_EXPIRES_SECONDS = 3600
REDIS_TIMEOUT_SECONDS = 0.5

RECOMPUTE_SCHOOL_TASK = "worker.tasks.recompute_school"


class Enqueued(enum.StrEnum):
    QUEUED = "queued"
    COALESCED = "coalesced"
    UNAVAILABLE = "unavailable"


def coalesce_key(schema: str, school_id: int) -> str:
    return f"sovei:recompute:{schema}:{school_id}"


def broker_url() -> str:
    return str(app.conf.broker_write_url or app.conf.broker_url or "")


@lru_cache(maxsize=8)
def _redis_for(url: str) -> redis.Redis | None:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None  # another broker: no coalescing, every write publishes
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


def _redis() -> redis.Redis | None:
    return _redis_for(broker_url())


def _publish(name: str, schema: str, **options: Any) -> None:
    # The queue is read per message, so a process can be pointed at another queue.
    options.setdefault("queue", app.conf.task_default_queue)
    app.send_task(name, headers={"_schema_name": schema}, retry=False, **options)


def enqueue_recompute(schema: str, school_id: int) -> Enqueued:
    """Ask a worker to recompute one school's aggregates. Logs and returns UNAVAILABLE
    when the broker cannot be reached; never raises."""
    client = _redis()
    key = coalesce_key(schema, school_id)
    try:
        if client is not None and not client.set(key, "1", nx=True, ex=COALESCE_TTL_SECONDS):
            return Enqueued.COALESCED
    except RedisError as exc:
        logger.warning(
            "Broker unreachable; recomputation of school %s in %s stays pending (%s)",
            school_id,
            schema,
            exc,
        )
        return Enqueued.UNAVAILABLE
    try:
        _publish(
            RECOMPUTE_SCHOOL_TASK,
            schema,
            args=[school_id],
            expires=MESSAGE_EXPIRES_SECONDS,
        )
    except Exception as exc:
        logger.warning(
            "Could not publish the recomputation of school %s in %s; it stays pending (%s)",
            school_id,
            schema,
            exc,
        )
        release(schema, school_id)
        return Enqueued.UNAVAILABLE
    return Enqueued.QUEUED


def release(schema: str, school_id: int) -> None:
    """Forget that a task for the school is queued (the task calls this as it starts)."""
    client = _redis()
    if client is None:
        return
    try:
        client.delete(coalesce_key(schema, school_id))
    except RedisError as exc:
        logger.warning("Could not release the coalescing key of school %s: %s", school_id, exc)


def publish(name: str, schema: str, **options: Any) -> None:
    """Send a task to run in ``schema`` (raises when the broker is unreachable)."""
    _publish(name, schema, **options)
