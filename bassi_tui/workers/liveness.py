"""Which labels have a live worker, and the card by which a worker says it is alive.

Hand-written rather than read from RQ's worker registry: RQ renews a worker's key only once per
dequeue timeout (minutes by default) and lets it live 60 s past its last heartbeat, so a worker
that was killed a minute ago still looks alive there; and its ``last_heartbeat`` is in the
worker's clock, which need not agree with the scheduler's. Here each ``bassi-tui worker`` keeps a
card, ``bassi:worker:<name>``, that Redis expires :data:`CARD_LIFE` beats after the last
renewal, and adds its name to ``bassi:label:<label>`` for each label it serves. A label is live
while one of its names has a card: two round trips, no clock but Redis'.

Runs are watched through their own heartbeat (:mod:`~bassi_tui.workers.jobs`), not through the
card: a worker's parent process may die while its work-horse finishes the run.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from bassi_tui.workers.keys import card_key, label_key

if TYPE_CHECKING:
    import redis
    import redis.asyncio as aredis

__all__ = [
    "CARD_LIFE",
    "DEFAULT_BEAT",
    "WorkerCard",
    "WorkerInfo",
    "beat_from_env",
    "describe",
    "live_workers",
]

log = logging.getLogger(__name__)

#: Seconds between a worker's card renewals ($BASSI_WORKER_BEAT_S overrides, for tests).
DEFAULT_BEAT = 5.0
#: A card lives this many beats past its last renewal.
CARD_LIFE = 3


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A live worker, as its card says."""

    name: str
    host: str
    pid: int
    labels: tuple[str, ...]

    @property
    def label(self) -> str:
        """``name@host``."""
        return f"{self.name}@{self.host}"

    @classmethod
    def from_card(cls, name: str, raw: bytes | str) -> WorkerInfo | None:
        """The card's worker, or None for a card that is not one of ours."""
        try:
            data = json.loads(raw)
            return cls(name, str(data["host"]), int(data["pid"]), tuple(data["labels"]))
        except (ValueError, KeyError, TypeError):
            return None


async def live_workers(client: aredis.Redis, label: str) -> list[WorkerInfo]:
    """The workers whose card is alive among those that serve ``label`` (pruning the dead)."""
    raw_names = await client.smembers(label_key(label))  # type: ignore[misc]
    names = sorted(n.decode() if isinstance(n, bytes) else str(n) for n in raw_names)
    if not names:
        return []
    cards = await client.mget([card_key(name) for name in names])
    dead = [name for name, card in zip(names, cards, strict=True) if card is None]
    if dead:
        await client.srem(label_key(label), *dead)  # type: ignore[misc]
    found = (
        WorkerInfo.from_card(name, card)
        for name, card in zip(names, cards, strict=True)
        if card is not None
    )
    return [info for info in found if info is not None]


def beat_from_env() -> float:
    """$BASSI_WORKER_BEAT_S when it is a positive number, else :data:`DEFAULT_BEAT`."""
    try:
        value = float(os.environ.get("BASSI_WORKER_BEAT_S", ""))
    except ValueError:
        return DEFAULT_BEAT
    return value if value > 0 else DEFAULT_BEAT


class WorkerCard:
    """A thread of ``bassi-tui worker`` that keeps its card alive until :meth:`stop`.

    It has a Redis client of its own: RQ forks a work-horse while this thread may hold a lock
    of RQ's connection pool, and the horse must not inherit it held.
    """

    def __init__(self, client: redis.Redis, info: WorkerInfo, every: float = DEFAULT_BEAT) -> None:
        self._client = client
        self.info = info
        self.every = every
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bassi-worker-card", daemon=True)

    def _card(self) -> str:
        info = self.info
        return json.dumps({"host": info.host, "pid": info.pid, "labels": list(info.labels)})

    def renew(self) -> None:
        """Write the card now (and the worker's name into its labels' sets)."""
        life = max(1, round(self.every * CARD_LIFE * 1000))
        with self._client.pipeline(transaction=False) as pipe:
            pipe.set(card_key(self.info.name), self._card(), px=life)
            for label in self.info.labels:
                pipe.sadd(label_key(label), self.info.name)
            pipe.execute()

    def start(self) -> None:
        """Write the card (raising if Redis cannot be reached), then keep it alive."""
        self.renew()
        self._thread.start()

    def _loop(self) -> None:
        failing_since: float | None = None
        while not self._stopped.wait(self.every):
            try:
                self.renew()
                failing_since = None
            except RedisError as exc:
                if failing_since is None:
                    failing_since = time.monotonic()
                    log.warning("cannot renew worker %s's card: %s", self.info.name, exc)

    def stop(self) -> None:
        """Stop renewing and take the card down (the worker is going)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 5)
        try:
            with self._client.pipeline(transaction=False) as pipe:
                pipe.delete(card_key(self.info.name))
                for label in self.info.labels:
                    pipe.srem(label_key(label), self.info.name)
                pipe.execute()
        except RedisError as exc:
            log.warning("cannot take worker %s's card down: %s", self.info.name, exc)


def describe(info: WorkerInfo | None, name: str) -> str:
    """``worker NAME on HOST`` when the card is known, else ``worker NAME``."""
    return f"worker {name} on {info.host}" if info is not None else f"worker {name}"
