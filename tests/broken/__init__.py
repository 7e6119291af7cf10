"""Deliberately broken Flexprice servers: the real mock behind a proxy that injects one defect.

They exist to prove that the contract gate catches each class of defect (`tests/test_contract_gate.py`).
"""
