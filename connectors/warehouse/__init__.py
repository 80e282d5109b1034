"""Landing CRM records in DuckDB: typed raw tables, idempotent merges and per-stream state.

``raw.RawWarehouse`` owns the working DuckDB file. Extractors hand it Arrow batches; it casts them
to the columns derived from describe / property definitions (``columns``), merges them on the
primary key and records the stream's cursor in the same transaction, so a crash can never advance
a cursor past rows that were not written.
"""
