"""Kill worker processes with SIGKILL while they hold jobs, and start replacements.

The killer does not kill on a timer: it waits until the queue has made some progress and a
worker holds a lease, then kills a worker that holds one, so every kill interrupts real work
(a claimed job whose lease must expire and be reaped). It stops by itself after `kills`.
"""
from __future__ import annotations

import random
import threading
import time

from sqlalchemy import func, select

from storage.models import Job


class WorkerKiller:
    def __init__(self, deployment, *, workers: int, kills: int, rng: random.Random, progress_step: int):
        self.deployment = deployment
        self.kills_wanted = kills
        self.rng = rng
        self.progress_step = progress_step
        self.workers = [deployment.worker(self._name(i)) for i in range(workers)]
        self._started = workers
        self.kills = 0
        self.interrupted_jobs = 0           # jobs leased by a worker at the moment it was killed
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-killer", daemon=True)

    @staticmethod
    def _name(number: int) -> str:
        return f"chaos-{number}"

    def start(self) -> "WorkerKiller":
        self._thread.start()
        return self

    def finish(self, timeout_s: float = 600.0) -> None:
        """Wait until every wanted kill happened (or the queue ran dry), then stop the thread."""
        self._thread.join(timeout_s)
        self._stop.set()

    def _done_jobs(self) -> int:
        with self.deployment.sessions() as session:
            return session.scalar(select(func.count()).select_from(Job).where(Job.state == "done"))

    def _leases(self) -> dict[str, int]:
        """Worker name -> jobs it holds now."""
        with self.deployment.sessions() as session:
            rows = session.execute(select(Job.leased_by, func.count()).where(Job.state == "leased")
                                   .group_by(Job.leased_by)).all()
        held: dict[str, int] = {}
        for leased_by, count in rows:
            name = (leased_by or "").split("/", 1)[0]
            held[name] = held.get(name, 0) + count
        return held

    def _run(self) -> None:
        next_kill_at = self.progress_step
        idle_since = time.monotonic()
        while self.kills < self.kills_wanted and not self._stop.is_set():
            done = self._done_jobs()
            held = self._leases()
            alive = {w.name: w for w in self.workers if w.alive()}
            victims = [name for name in held if name in alive]
            if done >= next_kill_at and victims:
                victim = alive[self.rng.choice(victims)]
                victim.kill()
                self.interrupted_jobs += held[victim.name]
                self.kills += 1
                self.workers.append(self.deployment.worker(self._name(self._started)))
                self._started += 1
                next_kill_at = done + self.rng.randint(self.progress_step // 2, self.progress_step * 3 // 2)
                idle_since = time.monotonic()
            elif held:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 60:
                self.errors.append(f"no job was leased for 60 s after {self.kills} kills; stopped early")
                return
            time.sleep(0.05)  # polling interval of the killer's own observation loop
