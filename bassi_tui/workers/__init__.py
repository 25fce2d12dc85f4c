"""The hand-off of ``runs_on`` runs to RQ workers on Redis/Valkey (issue 15, "Past one machine").

The scheduling instance stays the only writer of the folder store. It hands one attempt of a run
to a worker as an RQ job (:class:`~bassi_tui.workers.remote.RemoteRunner`, a
:class:`~bassi_tui.executor.base.Runner` like the local ones), relays the output the worker
streams back, and records what the worker sent back, exactly as for a local attempt.

- :mod:`~bassi_tui.workers.keys`: every Redis name the hand-off uses, and how long each lives.
- :mod:`~bassi_tui.workers.payload`: a request, a result and an error as plain data (no secret).
- :mod:`~bassi_tui.workers.remote`: the scheduler's side (enqueue once, relay, stop, lost).
- :mod:`~bassi_tui.workers.liveness`: which labels have a live worker; the worker's own card.
- :mod:`~bassi_tui.workers.jobs`, :mod:`~bassi_tui.workers.outflow`: the worker's side (the job
  function the work-horse runs, its batched output stream).
- :mod:`~bassi_tui.workers.worker_cli`, :mod:`~bassi_tui.workers.reaper`: ``bassi-tui worker``.

Nothing here is imported unless bassi.yaml names workers (or ``bassi-tui worker`` runs): rq and
redis are an optional extra (``pip install -e '.[workers]'``). This package never imports
the scheduler, Textual or Rich (import-linter contracts in pyproject).
"""
