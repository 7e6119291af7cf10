"""Developer tools around the API: the admin endpoints (`/_mock/*`) with their protection, clock
moves, the dashboard at `/_mock/` (`dashboard/`), data fixtures, the request journal, recordings
of a real server (`recording.py`), webhooks and a receiver for tests. May import every layer below the top: `http`,
`domain`, `storage`, `schemas`, `core`."""
