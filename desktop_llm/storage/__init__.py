"""SQLite schema, migrations, repositories, search and JSON exchange (blocking; run off the Qt thread)."""
