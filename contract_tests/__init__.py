"""The Flexprice contract gate: Schemathesis checks plus Flexprice semantics, against any implementation.

`flexprice-contract` (see `cli.py`) and `pytest contract_tests` both drive `gate.run`; nothing here
imports the mock except `target.py`, which starts it when no `--base-url` is given.
"""
