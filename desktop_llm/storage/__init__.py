"""Store everything in SQLite: schema, migrations, repositories, search, JSON exchange; off the Qt thread."""
