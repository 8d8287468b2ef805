"""What the worker does with a ticket: fetch its current state, map, enrich, score, decide writes.

Every decision is taken from the ticket's current state (fetched through the connector) and what
the service last knew of it (the `tickets` row), never from the order webhooks arrived in. Writes
leave through the outbox (`write_back` jobs) keyed by what they write, so the same decision taken
twice writes once.
"""
