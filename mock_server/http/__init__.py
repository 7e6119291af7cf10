"""The HTTP layer: routing, the request pipeline of each operation (`endpoint`), parameters and
bodies, the error envelope (`errors`), and handlers that translate a validated request into one
domain call and render its answer. May import `domain`, `storage`, `spec`, `core`."""
