"""Developer tools around the API: the admin endpoints (`/_mock/*`), data fixtures, the request
journal, webhooks and a receiver for tests. May import every layer below the top: `http`,
`domain`, `storage`, `schemas`, `core`."""
