"""The machine interface over the ledger: the HTTP API (``http``), its OpenAPI document, bearer tokens and MCP."""
