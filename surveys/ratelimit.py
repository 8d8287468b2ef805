"""Fixed-window request counters shared by every server process, kept in the `rate_buckets` table.

Each hit is one upsert that adds 1 and returns the new count, so processes on several hosts
count together without a shared cache. The survey page limits per client address and per
link; client addresses are stored hashed, and old windows are removed by the housekeeping run.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import RateBucket
from surveys.config import PageRateLimit


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


def count_hit(session: Session, key: str, window_s: int, now_s: float) -> int:
    """Add one hit to `key`'s current window; the number of hits in it so far, this one included."""
    window_start = int(now_s) - int(now_s) % window_s
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(RateBucket).values(key=key, window_start=window_start, hits=1)
                 .on_conflict_do_update(index_elements=["key", "window_start"], set_={"hits": RateBucket.hits + 1})
                 .returning(RateBucket.hits))
    return int(session.execute(statement).scalar_one())


def check_page_request(sessions: sessionmaker[Session], limits: PageRateLimit, client_address: str | None,
                       token_hash: str | None, now_s: float | None = None) -> Verdict:
    """Count one survey-page request against its client address and its link; refuse over either limit."""
    now_s = time.time() if now_s is None else now_s
    address = hashlib.sha256(f"client:{client_address or 'unknown'}".encode("utf-8")).hexdigest()[:40]
    with transaction(sessions) as session:
        by_address = count_hit(session, f"survey-page:ip:{address}", limits.window_s, now_s)
        by_link = count_hit(session, f"survey-page:link:{token_hash[:40]}", limits.window_s, now_s) if token_hash else 0
    if by_address > limits.per_ip or by_link > limits.per_token:
        return Verdict(False, retry_after_s=limits.window_s - int(now_s) % limits.window_s)
    return Verdict(True)


def remove_old_windows(session: Session, older_than_s: float) -> int:
    """Delete windows that started before `older_than_s` (unix seconds). Returns how many."""
    return session.execute(delete(RateBucket).where(RateBucket.window_start < int(older_than_s))).rowcount
