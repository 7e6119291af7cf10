"""State snapshots for `GET /_mock/state/export` and `POST /_mock/state/import`: the state as
fixtures (`Fixtures.export`) with the clock, and putting a mock back there.

A minimal form, enough for the dashboard's snapshot controls: an import empties the store (a
reset, then the start-up fixtures' records removed, as the snapshot has its own), loads the
snapshot's records through the create path as fixtures load, then moves the clock to where the
snapshot's stood, so the period job re-issues the invoices the fixture format leaves out (with
new ids and numbers). Usage events are not part of it. A snapshot of a newer format is refused;
one that does not load leaves the mock reset to its start-up state.
"""
from __future__ import annotations

from ..core.failures import Invalid
from ..core.times import when
from .fixtures import Fixtures

FORMAT = "flexprice-mock-snapshot"
VERSION = 1


def export(fixtures: Fixtures) -> dict:
    clock = fixtures.backend.clock
    return {"format": FORMAT, "version": VERSION, "clock": clock.describe(), "state": fixtures.export()}


def restore(fixtures: Fixtures, snapshot: object) -> dict[str, int]:
    """Put the mock where `snapshot` was; what was loaded, by resource. `Invalid` names the
    field of a snapshot that is not one; `fixtures.FixtureError` a record that does not load."""
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise Invalid("format", f'a snapshot is a JSON object with "format": "{FORMAT}" (GET /_mock/state/export)')
    version = snapshot.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise Invalid("version", f"snapshot version {version!r} is newer than this mock reads ({VERSION})")
    state, now = snapshot.get("state"), (snapshot.get("clock") or {}).get("now")
    if not isinstance(state, dict):
        raise Invalid("state", "a snapshot's state is the fixture format's mapping of resource to records")
    backend = fixtures.backend
    store = backend.store
    with store.atomic():
        backend.reset()
        own = {backend.tenant.tenant_id, backend.tenant.user_id}
        for collection, records in store.dump().items():
            for record in records:
                if record.get("id") not in own:
                    store.delete(collection, record["id"])
        try:
            loaded = fixtures.load([("snapshot", state)])
        except Exception:
            backend.reset()  # never half a snapshot: back to the start-up state
            raise
        if isinstance(now, str) and when(now) > backend.clock.now():
            backend.clock.to(now)
    return loaded
