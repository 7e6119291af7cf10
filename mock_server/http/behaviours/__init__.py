"""Named behaviours, by domain: what no spec can say (an API key you create authenticates; an
ingested event is counted; a top-up raises the balance). Importing the package registers them."""
from . import (  # noqa: F401  (registration side effect)
    addons,
    coupons,
    credit_notes,
    customers,
    events,
    grants,
    invoices,
    payments,
    secrets,
    subscriptions,
    taxes,
    wallets,
)
from .registry import BEHAVIOURS, behaviour

__all__ = ["BEHAVIOURS", "behaviour"]
