"""A live run's slices written on a thread of their own, so the analysis goes on while a slice is written.

Writing a slice (its tables as Parquet, the stills as JPEG, the alerts, live.json) takes the analysis thread
a few hundred milliseconds on a busy machine: long enough for a camera's next frames to be pushed out untaken.
The analysis hands each slice on as one job and goes on; the thread writes the jobs in their order. At most
one job waits: a machine whose disk cannot keep up holds the analysis back (and its frames are dropped, and
counted) rather than gathering slices in memory without end. An error in a job is raised again on the
analysis thread, at the next hand-over or at close(): a run whose slices cannot be written does not go on as
if they were.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

Job = Callable[[], None]


class SliceWriter:
    """Jobs run one after the other on a thread of their own (started by the first job, ended by close()), at
    most one of them waiting (see the module)."""

    def __init__(self, name: str = "lrfp-live-writer") -> None:
        self.name = name
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                if self.error is None:  # after an error, the jobs left are not written
                    job()
            except BaseException as exc:  # raised again on the analysis thread
                self.error = exc

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def submit(self, job: Job) -> None:
        """Hand JOB to the thread (waiting while another job is still waiting); an earlier job's error is
        raised here."""
        self._raise()
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self.thread.start()
        self.jobs.put(job)

    def close(self) -> None:
        """Write the jobs handed over, then end the thread; an error of one of them is raised here."""
        if self.thread is not None:
            self.jobs.put(None)
            self.thread.join()
            self.thread = None
        self._raise()
