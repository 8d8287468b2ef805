"""Durable state: SQLAlchemy models, engine set-up (SQLite or PostgreSQL) and Alembic migrations."""
