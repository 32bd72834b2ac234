"""The PostgreSQL implementation of the storage port (psycopg 3, pooled): `PgStore.open(url)`."""
