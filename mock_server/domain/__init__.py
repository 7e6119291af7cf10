"""The domain: the generic record rules (`backend`), the billing services (`billing/`), the clock
and the domain events every change records. Knows nothing of HTTP: it is built from a spec
model, a store and a clock, and raises `core.failures`. May import `storage`, `schemas`, `core`."""
