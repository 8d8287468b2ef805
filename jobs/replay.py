"""`python app.py replay`: give dead jobs another set of attempts, re-run quarantined payloads."""
from __future__ import annotations

from jobs.queue import requeue_dead
from runtime import Runtime


def replay(settings, *, dead: bool, quarantined: bool, job_ids: list[int]) -> int:
    if not dead and not quarantined and not job_ids:
        print("nothing to replay: pass --dead, --quarantined or --job ID")
        return 2
    runtime = Runtime.build(settings)
    try:
        if dead or job_ids:
            print(f"re-queued {requeue_dead(runtime.sessions, job_ids)} dead job(s)")
        if quarantined:
            from webhooks.quarantine import replay_quarantined

            stored, still_bad = replay_quarantined(runtime)
            print(f"quarantine: {stored} payload(s) stored as events, {still_bad} still unrecognised")
    finally:
        runtime.close()
    return 0
