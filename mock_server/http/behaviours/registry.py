"""The registry of named behaviours: `@behaviour("operationId")` replaces the generic handler.

The generic handlers cover what the resource model infers; a behaviour adds a rule of the real
server that the document cannot express. `BEHAVIOURS` is read when the app is built.
"""
from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from ..handlers import Api, Call

BEHAVIOURS: dict[str, Callable[[Api, Call], Response]] = {}


def behaviour(operation_id: str, exclusive: bool = True):
    """`exclusive=False`: the behaviour's writes are single store calls, atomic on their own, so
    it need not wait for other processes' writes (`Api.exclusive`)."""

    def register(function: Callable[[Api, Call], Response]):
        function.exclusive = exclusive
        BEHAVIOURS[operation_id] = function
        return function

    return register
