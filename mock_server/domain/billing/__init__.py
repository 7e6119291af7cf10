"""The billing domain: usage, pricing, subscriptions, invoices, wallets and entitlements,
computed as the real Flexprice server computes them (`docs/billing.md`).

Each module is one small service over the store (`records.Records`), with time from the one
clock (`clock.Clock`); `engine.Billing` holds them together for the handlers. Services know
nothing of HTTP: they take plain values, raise `domain` errors and record every change they
make in the store's outbox.
"""
