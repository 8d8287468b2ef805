"""Experience context: what surrounds a ticket, from what the service already knows.

Context comes from the `tickets` table (every ticket the service has seen, through webhooks and
reconciliation) and the survey tables, not from extra ITSM calls: a lifecycle step costs one read
and one write per tool, and the context is there within a database query.
"""
