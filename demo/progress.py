"""What the demo prints: one status line every few seconds and the URLs to look at."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

QUERIES = {
    "received": "SELECT count(*) FROM inbox_events",
    "processed": "SELECT count(*) FROM jobs WHERE kind='process_event' AND state='done'",
    "ignored": "SELECT count(*) FROM jobs WHERE kind='process_event' AND state='done' AND outcome LIKE 'ignored%'",
    "writes": "SELECT count(*) FROM jobs WHERE kind='write_back' AND state='done' AND outcome='written'",
    "scored": "SELECT count(*) FROM tickets WHERE score IS NOT NULL",
    "notes": "SELECT count(*) FROM jobs WHERE kind='write_back' AND state='done' AND outcome='written' "
             "AND json_extract(payload, '$.internal_note') IS NOT NULL",
    "surveys_sent": "SELECT count(*) FROM surveys WHERE sent_at IS NOT NULL",
    "surveys_answered": "SELECT count(*) FROM surveys WHERE state='answered'",
    "dead": "SELECT count(*) FROM jobs WHERE state='dead'",
}


RECENT_WRITES = """
SELECT j.id, j.connection_id, t.number, t.score, t.band, json_extract(j.payload, '$.internal_note') IS NOT NULL,
       (SELECT s.reasons FROM ticket_scores s WHERE s.connection_id = t.connection_id
          AND s.ticket_key = t.ticket_key ORDER BY s.id DESC LIMIT 1)
FROM jobs j JOIN tickets t ON t.connection_id = j.connection_id AND t.ticket_key = j.ticket_key
WHERE j.kind = 'write_back' AND j.state = 'done' AND j.outcome = 'written' AND j.id > ?
ORDER BY j.id LIMIT 8
"""


class Progress:
    def __init__(self, demo, database: Path):
        self.demo = demo
        self.database = database
        self.last_write_id = 0

    def print_recent_writes(self) -> None:
        """One line per write that reached a ticket since the last call (at most eight)."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
        try:
            rows = connection.execute(RECENT_WRITES, (self.last_write_id,)).fetchall()
        except sqlite3.Error:
            return
        finally:
            connection.close()
        for job_id, connection_id, number, score, band, with_note, reasons in rows:
            self.last_write_id = job_id
            first_reason = (json.loads(reasons) or ["no warning signs"])[0] if reasons else "no warning signs"
            print(f"         {connection_id:16} {number:12} score {score:3.0f} {band:8} {first_reason}"
                  + ("  + context note" if with_note else ""), flush=True)

    def counts(self) -> dict[str, int]:
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
        try:
            return {name: connection.execute(query).fetchone()[0] for name, query in QUERIES.items()}
        except sqlite3.Error:
            return {name: 0 for name in QUERIES}
        finally:
            connection.close()

    def print_line(self, elapsed_s: float) -> None:
        c = self.counts()
        print(f"[{elapsed_s:5.0f}s] events {c['received']} received, {c['processed']} processed "
              f"({c['ignored']} own or unchanged) | tickets scored {c['scored']} | writes {c['writes']} "
              f"(notes {c['notes']}) | surveys {c['surveys_sent']} sent, {c['surveys_answered']} answered"
              + (f" | dead jobs {c['dead']}" if c["dead"] else ""), flush=True)

    def banner(self) -> None:
        demo = self.demo
        print(f"""
service      {demo.service_url}   (/healthz, /readyz, /metrics)
ServiceNow   {demo.sn.url}/api/now/table/incident?sysparm_fields=number,state,u_xla_score,u_xla_band,u_xla_reasons
Jira         {demo.jira.url}/rest/api/2/search?jql=project=SD
(the simulators ask for the credentials in the demo's environment; /_sim/journal shows every call)
""", flush=True)

    def summary(self) -> None:
        c = self.counts()
        print(f"\nsummary: {c['received']} events, {c['scored']} tickets scored, {c['writes']} writes on tickets, "
              f"{c['surveys_sent']} surveys sent, {c['surveys_answered']} answered.", flush=True)
