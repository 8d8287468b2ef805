"""The durable job layer: every piece of work that crosses a process or network boundary.

Jobs are rows in `jobs`. A worker claims one with a lease and an attempt number; the attempt
number fences a worker whose lease expired (its completion is refused). Retries are persisted
(`next_run_at`) with capped exponential backoff and full jitter, honouring the wait an ITSM asked
for. After `max_attempts` a job is dead: visible, counted, and replayable.
"""
