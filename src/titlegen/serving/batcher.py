"""Many requests, one sampler: the rows of requests that wait together are sampled together.

One worker thread owns the model: a TensorFlow session runs one batch at a time, and at GPT-2
124M's shape a batch of 64 rows costs about 2.5 times one of 4 (BENCHMARKS.md). Requests
queue up while it samples; when it is free it takes, in arrival order, the rows of every
waiting request whose rows can share a graph with the first one's
(:class:`titlegen.sampling.Kind`), up to ``max_batch`` rows, and samples them as one batch (an
idle sampler first lets a burst of requests arrive, see ``_gather``). A request whose rows do not
all fit goes on in the next batch; one that needs more rows (a dropped row, a copy refused by
``novel``) asks for them in the next. Each request's rows draw from its own seed
(:class:`titlegen.sampling.Job`), whatever they were batched with; only the float rounding of
a batch depends on its size, which can turn a draw that sits on the edge between two tokens
into the other one (BENCHMARKS.md measures how often).

The queue is bounded: a request that finds ``max_waiting`` requests waiting is refused at once
(:class:`Busy`), so memory stays bounded whatever the load. A request whose client went away
is dropped before its next batch, without touching the others.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass, field

from titlegen.errors import TitlegenError
from titlegen.sampling import Generator, Job, Row, Sample
from titlegen.serving import MAX_BATCH, MAX_WAITING

GATHER = 0.1  # seconds an idle sampler waits at most for a burst of requests to arrive
QUIET = 0.02  # seconds without a new request that end the wait (a lone request waits this)

log = logging.getLogger("titlegen.serve")


class Busy(TitlegenError):
    """The queue is full: the request is refused without waiting."""


@dataclass
class _Waiting:
    job: Job
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    rows: list[Row] = field(default_factory=list)  # the job's current round
    tokens: list[list[int]] = field(default_factory=list)  # what came back of it so far

    def start_round(self) -> None:
        self.rows, self.tokens = self.job.round(), []

    @property
    def unsent(self) -> list[Row]:
        return self.rows[len(self.tokens) :]


class Batcher:
    """Samples the jobs given to :meth:`submit` in shared batches, on a thread of its own."""

    def __init__(
        self, generator: Generator, *, max_batch: int = MAX_BATCH, max_waiting: int = MAX_WAITING
    ) -> None:
        self.generator = generator
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        self.batches = 0  # sampled so far
        self.rows = 0
        self._waiting: list[_Waiting] = []
        self._changed = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="titlegen-sampler", daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> concurrent.futures.Future:
        """A future of the job's samples; :class:`Busy` at once when the queue is full.
        Cancelling the future drops the job before its next batch."""
        waiting = _Waiting(job)
        waiting.start_round()
        with self._changed:
            if self._stopping:
                raise Busy("The server is shutting down.")
            if len(self._waiting) >= self.max_waiting:
                raise Busy(
                    f"The server is busy ({len(self._waiting)} requests waiting): try again."
                )
            self._waiting.append(waiting)
            self._changed.notify()
        return waiting.future

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def close(self) -> None:
        """Finish the jobs already taken (the batch in flight and the others waiting), then
        stop the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()

    def _work(self) -> None:
        while True:
            with self._changed:
                self._drop_cancelled()
                if not self._waiting:
                    while not self._waiting and not self._stopping:
                        self._changed.wait()
                        self._drop_cancelled()
                    self._gather()
                if not self._waiting:
                    return  # stopping, and nothing left
                batch = self._next_batch()
            self._run(batch)

    def _gather(self) -> None:
        """After idling, let the requests sent together arrive before the first batch: wait
        while they keep coming (a pause of ``QUIET`` seconds ends it), at most ``GATHER``
        seconds, or until ``max_batch`` rows wait. Without it, the first request of a burst is
        sampled alone and holds the others back for a whole batch. Called with the lock held."""
        deadline = time.monotonic() + GATHER
        while not self._stopping and self._rows_waiting() < self.max_batch:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            arrived = len(self._waiting)
            self._changed.wait(min(QUIET, left))
            if len(self._waiting) == arrived:
                break  # a pause: the burst is in

    def _rows_waiting(self) -> int:
        return sum(len(waiting.unsent) for waiting in self._waiting)

    def _drop_cancelled(self) -> None:
        self._waiting = [w for w in self._waiting if not w.future.cancelled()]

    def _next_batch(self) -> list[tuple[_Waiting, list[Row]]]:
        """Rows of the waiting jobs that share the first one's kind, oldest first, up to
        ``max_batch``: (job, its rows in this batch)."""
        kind = self._waiting[0].job.kind
        room, batch = self.max_batch, []
        for waiting in self._waiting:
            if room == 0:
                break
            if waiting.job.kind == kind:
                rows = waiting.unsent[:room]
                batch.append((waiting, rows))
                room -= len(rows)
        return batch

    def _run(self, batch: list[tuple[_Waiting, list[Row]]]) -> None:
        rows = [row for _, part in batch for row in part]
        try:
            tokens = self.generator.sample(rows, batch[0][0].job.kind)
        except Exception as error:  # a bug, or TensorFlow out of memory: fail these requests
            log.exception("Sampling a batch of %d rows failed", len(rows))
            for waiting, _ in batch:
                self._finish(waiting, error=error)
            return
        self.batches += 1
        self.rows += len(rows)
        at = 0
        for waiting, part in batch:
            waiting.tokens += tokens[at : at + len(part)]
            at += len(part)
            if waiting.unsent:
                continue  # the rest of its round goes in the next batch
            try:
                waiting.job.take(waiting.tokens)
            except Exception as error:  # too many rows dropped (a sentence), or a bug: this
                self._finish(waiting, error=error)  # request fails, the sampler goes on
                continue
            if waiting.job.done:
                self._finish(waiting, samples=waiting.job.samples())
            else:
                waiting.start_round()

    def _finish(
        self,
        waiting: _Waiting,
        *,
        samples: list[Sample] | None = None,
        error: BaseException | None = None,
    ) -> None:
        with self._changed:
            self._waiting.remove(waiting)
        if waiting.future.set_running_or_notify_cancel():  # False: its client went away
            if error is None:
                waiting.future.set_result(samples)
            else:
                waiting.future.set_exception(error)
