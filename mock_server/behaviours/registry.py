"""The registry of named behaviours: `@behaviour("operationId")` replaces the generic handler.

The generic handlers cover what the resource model infers; a behaviour adds a rule of the real
server that the document cannot express. `BEHAVIOURS` is read when the app is built.
"""
from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from ..handlers import Api, Call

BEHAVIOURS: dict[str, Callable[[Api, Call], Response]] = {}


def behaviour(operation_id: str):
    def register(function: Callable[[Api, Call], Response]):
        BEHAVIOURS[operation_id] = function
        return function

    return register
