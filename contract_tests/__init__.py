"""The Flexprice contract gate: Schemathesis checks plus Flexprice semantics, against any implementation.

`flexprice-contract` (see `cli.py`) and `pytest contract_tests` both drive `gate.run`. It reads
the spec through the spec model both halves share (`flexprice_spec`: loading, `$ref`s,
resources inferred from paths, overlays), and imports nothing of the mock but `target.py`, which
starts it when no `--base-url` is given. The modules, by concern: `semantic.py` (the check
registry and the API-key rules), `lifecycle.py` (every resource), `chain.py` and `recipes.py` (the
billing objects the checks build), `billing.py` and `flows.py` (billing rules, as
`expectations.py` and `billing_rules.py` state them), `restler.py` (leakage, hierarchy, unknown
fields), `reads.py` (what read-only runs reach), `fuzz.py` (Schemathesis), `budget.py` (the time
budget), `spec_choice.py` (which spec a run tests), `report.py` and `report_files.py` (the summary,
HTML, JSON, JUnit), `replay.py` (`--write-tests`), `parity.py` (`flexprice-contract parity`: the
billing scenario against a target and a mock, field by field), `diff/` (`flexprice-contract diff`).
"""
