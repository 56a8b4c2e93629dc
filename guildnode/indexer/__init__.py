"""The indexer: an optional node role that follows the public feeds of many member nodes,
verifies every record as a member node does, keeps the public ones in PostgreSQL and answers
search with the signed records themselves (SPEC §13).

Parts: `schema` (the PostgreSQL migrations), `project` (what of a record is kept and
searched), `store` (the chains and search tables), `follow` (rounds with peers), `search`
(checking queries, the SQL) and `app` (settings, the FastAPI app, the running indexer).
"""

DEFAULT_PORT = 8548
