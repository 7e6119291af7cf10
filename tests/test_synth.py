"""Synthesized values: deterministic, schema-valid on every response of the full spec, bounded on
recursive schemas; unsatisfiable fields left out; `conform` keeps what fits."""
from __future__ import annotations

import pytest

from flexprice_spec.document import Spec
from flexprice_spec.resources import infer
from mock_server.schemas.checks import Schemas
from mock_server.schemas.synth import Synth


@pytest.fixture(scope="module")
def spec(full_spec):
    return Spec.load(full_spec)


@pytest.fixture(scope="module")
def schemas(spec):
    return Schemas(spec)


def test_every_response_schema_of_the_full_spec_gets_a_valid_deterministic_value(spec, schemas):
    responses = {id(op.response_schema): op.response_schema for op in infer(spec).operations if op.response_schema}
    first, second = Synth(spec, schemas, seed=3), Synth(spec, schemas, seed=3)
    for schema in responses.values():
        value = first.value(schema)
        assert schemas.errors(value, schema) == [], (schema, value)
        assert second.value(schema) == value


def test_recursive_schemas_terminate(spec, schemas):
    value = Synth(spec, schemas).value({"$ref": "#/components/schemas/PlanResponse"})

    def depth(node) -> int:
        if isinstance(node, dict):
            return 1 + max((depth(v) for v in node.values()), default=0)
        if isinstance(node, list):
            return 1 + max((depth(v) for v in node), default=0)
        return 0
    assert 1 < depth(value) <= 8


def test_the_unsatisfiable_duration_is_left_out_and_listed_by_lint(spec, schemas):
    synth = Synth(spec, schemas)
    auto_topup = synth.value({"$ref": "#/components/schemas/types.AutoTopup"})
    assert "cooldown" not in auto_topup and "enabled" in auto_topup
    assert any(line.startswith("types.Duration:") for line in synth.defects())


def test_conform_keeps_the_fields_of_a_nested_object_that_fit(spec, schemas):
    wallet = {"$ref": "#/components/schemas/WalletResponse"}
    record = {"currency": "usd", "unknown": 1, "balance": 5,
              "auto_topup": {"enabled": True, "cooldown": "1h"}}
    assert schemas.conform(record, wallet) == {"currency": "usd", "auto_topup": {"enabled": True}}


def test_decimal_strings_look_like_numbers(spec, schemas):
    value = Synth(spec, schemas).value({"$ref": "#/components/schemas/TopUpWalletRequest"})
    assert value["amount"].isdigit() and value["credits_to_add"].isdigit()


def test_a_referenced_integer_refuses_integral_floats_as_draft_4_does(spec, schemas):
    priority = {"$ref": "#/components/schemas/TaxAssociationUpdateRequest"}
    assert schemas.is_valid({"priority": 3}, priority)
    assert not schemas.is_valid({"priority": 3.0}, priority)  # Go's int64 refuses 3.0 too
    assert not schemas.is_valid({"priority": 9.223372036854776e18}, priority)
