"""How the templates write values: JSON pretty-printed, the mock's timestamps shortened, money
as the exact decimal string the record holds with its currency."""
from __future__ import annotations

import orjson


def pretty(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def moment(stamp: object) -> str:
    """`2026-02-01T00:00:00.000Z` as `2026-02-01 00:00`; anything else as it is."""
    text = str(stamp or "")
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def money(amount: object, currency: object = "") -> str:
    """Never rounded or reformatted: the figure the API answers."""
    return f"{amount if amount not in (None, '') else '0'} {str(currency or '').upper()}".strip()


def status_class(status: object) -> str:
    """A CSS class for an HTTP status or a record's status word."""
    text = str(status or "").lower()
    if text[:1] == "2" or text in ("active", "delivered", "finalized", "succeeded", "completed", "published"):
        return "good"
    if text[:1] in ("4", "5") or text in ("failed", "cancelled", "voided", "closed"):
        return "bad"
    return "neutral"


FILTERS = {"pretty": pretty, "moment": moment, "money": money, "status_class": status_class}
