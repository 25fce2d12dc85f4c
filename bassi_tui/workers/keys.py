"""Every name the hand-off uses in Redis, and how long each thing lives there, in one place.

RQ's own keys (``rq:job:*``, ``rq:queue:*``, ``rq:worker:*``...) are RQ's business. Ours all
begin with ``bassi:``; ``<job>`` is an attempt's RQ job id (:func:`job_id_for`):

- ``bassi:out:<job>``     the attempt's output: a stream of one ``w`` entry (the worker), text
  chunks (``t``), then one ``end`` entry holding the outcome. Bounded (about
  :data:`STREAM_MAXLEN` entries) and expiring.
- ``bassi:beat:<job>``    the attempt's heartbeat, set by the work-horse while it runs; it
  expires ``lost_after`` seconds after the last beat (Redis' clock, not the hosts').
- ``bassi:stop:<job>``    a list: one item asks the work-horse to stop the attempt (its value
  says why).
- ``bassi:handed:<job>``  "this attempt was handed over": outlives the RQ job, so an attempt
  whose job has expired is never handed over again.
- ``bassi:worker:<name>`` a live worker's card (host, pid, labels); expires unless renewed.
- ``bassi:label:<label>`` the names of the workers that serve a label (dead ones are pruned).

An RQ queue per label, ``bassi-<label>``.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "DEFAULT_LOST_AFTER",
    "HANDED_TTL",
    "JOB_FUNCTION",
    "JOB_TIMEOUT_MARGIN",
    "RESULT_TTL",
    "STREAM_MAXLEN",
    "beat_key",
    "card_key",
    "handed_key",
    "job_id_for",
    "label_key",
    "queue_name",
    "stop_key",
    "stream_key",
]

#: Seconds without a heartbeat after which a running attempt is ``lost`` (the issue: < 60 s).
DEFAULT_LOST_AFTER = 30.0
#: How long RQ keeps a finished job (its result), and the output stream its run left: a
#: scheduler restarted within this time attaches to the attempt and reads how it ended.
RESULT_TTL = 24 * 3600
#: How long an attempt stays marked as handed over (so never handed over twice).
HANDED_TTL = 7 * 24 * 3600
#: An output stream keeps about this many entries (each a batch of up to 16 KiB of text).
STREAM_MAXLEN = 4096
#: RQ's own timeout of a job is the task's timeout plus this: a backstop for a job whose
#: scheduler has gone (the scheduler's timeout stops an attempt first, and says so).
JOB_TIMEOUT_MARGIN = 60
#: The job function a worker runs, named so the scheduler need not import it.
JOB_FUNCTION = "bassi_tui.workers.jobs.run_job"

_PREFIX = "bassi"


def job_id_for(run_id: str, attempt: int) -> str:
    """The RQ job id of ``attempt`` of run ``run_id``: the same for the same pair, always.

    RQ allows only ``[A-Za-z0-9_-]`` in a job id, and a run id holds a task name (anything a
    folder may be called), so the run id goes in as a digest.
    """
    digest = hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:32]
    return f"{_PREFIX}-{digest}-{attempt}"


def queue_name(label: str) -> str:
    """The RQ queue of a ``runs_on`` label."""
    return f"{_PREFIX}-{label}"


def stream_key(job_id: str) -> str:
    """The attempt's output stream."""
    return f"{_PREFIX}:out:{job_id}"


def beat_key(job_id: str) -> str:
    """The attempt's heartbeat."""
    return f"{_PREFIX}:beat:{job_id}"


def stop_key(job_id: str) -> str:
    """The list whose one item asks the attempt's work-horse to stop."""
    return f"{_PREFIX}:stop:{job_id}"


def handed_key(job_id: str) -> str:
    """Set once the attempt has been handed over."""
    return f"{_PREFIX}:handed:{job_id}"


def card_key(worker: str) -> str:
    """A live worker's card."""
    return f"{_PREFIX}:worker:{worker}"


def label_key(label: str) -> str:
    """The set of worker names that serve ``label``."""
    return f"{_PREFIX}:label:{label}"
