"""The billing domain: usage, pricing, subscriptions, invoices, wallets, payments,
entitlements, coupons, taxes, prepaid credits and credit notes, computed as the real Flexprice
server computes them (`docs/billing.md`).

Each module is one small service over the generic record rules (`domain.records.Records`), with
time from the one clock (`domain.clock.Clock`); `engine.Billing` holds them together for the
backend. Services know nothing of HTTP: they take plain values, raise `core.failures` and record
every change they make in the outbox.
"""
