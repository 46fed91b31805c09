"""Catalog storage: SQLAlchemy 2 (SQLite WAL by default, PostgreSQL by URL)."""
