"""The Flexprice spec model both halves read: the OpenAPI document (`document`: loading, `$ref`s,
operations), the resources and roles inferred from its paths (`resources`), and in-memory
Overlay 1.0 edits (`overlays`).

The foundation of the project: it imports neither `mock_server` nor `contract_tests`, and no
web framework, so the gate reads a spec without loading the server.
"""
