"""The Flexprice contract gate: Schemathesis checks plus Flexprice semantics, against any implementation.

`flexprice-contract` (see `cli.py`) and `pytest contract_tests` both drive `gate.run`. Of the
mock's package the gate imports only the pure spec model both halves share (`mock_server.spec`,
`mock_server.resources`: loading, `$ref`s, resources inferred from paths; neither imports
Connexion or uvicorn), and `target.py` starts the mock when no `--base-url` is given.
"""
