"""The Flexprice contract gate: Schemathesis checks plus Flexprice semantics, against any implementation.

`flexprice-contract` (see `cli.py`) and `pytest contract_tests` both drive `gate.run`. It reads
the spec through the spec model both halves share (`flexprice_spec`: loading, `$ref`s,
resources inferred from paths, overlays), and imports nothing of the mock but `target.py`, which
starts it when no `--base-url` is given.
"""
