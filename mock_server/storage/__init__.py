"""Storage: where the state of a running mock is kept, behind one interface (`store.Store`) with
two backends, in memory and in Redis. Records, keys, usage events and sequences, in domain
terms and filters as data; nothing of billing or HTTP. May import `schemas` and `core`."""
