"""Storage: the only place with SQL. One aiosqlite connection, migrations, repositories."""
