"""Parameter validation that names the parameter at fault, with each schema compiled once.

Connexion's `ParameterValidator` reports `'abc' is not of type 'integer'` without saying which
parameter, and builds a new validator on every request; this subclass fixes both, and refuses
integers outside 64 bits as the real server does (they would not survive the JSON response).
"""
from __future__ import annotations

from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator

INT64 = (-(2**63), 2**63 - 1)  # the real server parses integer parameters into Go int64
# id(parameter) -> (parameter, validator); the parameter is kept so its id is never reused
_COMPILED: dict[int, tuple[dict, Draft4Validator]] = {}


def _validator(param: dict) -> Draft4Validator:
    entry = _COMPILED.get(id(param))
    if entry is None or entry[0] is not param:
        entry = (param, Draft4Validator(param.get("schema", param), format_checker=Draft4Validator.FORMAT_CHECKER))
        _COMPILED[id(param)] = entry
    return entry[1]


class NamedParameterValidator(ParameterValidator):
    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            return f"missing {parameter_type} parameter '{param['name']}'" if param.get("required") else None
        error = next(iter(_validator(param).iter_errors(value)), None)
        if error is None and isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            return f"{parameter_type} parameter '{param['name']}': {value} does not fit in 64 bits"
        if error is None:
            return None
        return f"{parameter_type} parameter '{param['name']}': {error.message}"
