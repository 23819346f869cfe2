"""The warehouse: the embedded ClickHouse HTTP server, clients and schema migrations."""
