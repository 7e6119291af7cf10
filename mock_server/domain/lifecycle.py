"""Set-up, reset, and catching up with the other processes that share the store.

A mock's state is set up once, by whichever process finds the store empty: the tenant it acts
for (its ids), the clock where it starts, and the bootstrap data hooks write (fixtures, the
tenant's records). `on_reset` hooks write that shared data, in the process that sets up or
resets; `on_local_reset` hooks rebuild what each process keeps for itself (journal, stubs,
bootstrap keys), in every process. `sync()`, at the start of each request, reads what the others
did (one store call): a reset is adopted, the clock follows theirs, settings others changed are
handed to who `watch`es them (run-time webhook endpoints), caches are told when they wrote
(`on_stale`), and a shared state found gone (a flushed or restarted Redis) is set up again.
`replace()` puts a whole state back (a snapshot, `snapshots.py`) as a reset would, with the
snapshot's data in place of what the reset hooks write.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from ..storage.store import Store, pack
from .clock import Clock
from .ids import IdFactory

log = logging.getLogger("mock_server")

Hook = Callable[[], None]


@dataclass(slots=True, frozen=True)
class Tenant:
    """Who every API key acts as: one tenant, one environment, one user."""

    tenant_id: str
    environment_id: str
    user_id: str


class Lifecycle:
    def __init__(self, store: Store, clock: Clock, ids: IdFactory) -> None:
        self.store, self.clock, self.ids = store, clock, ids
        self._on_reset: list[Hook] = []
        self._on_local_reset: list[Hook] = []
        self._on_stale: list[Hook] = []
        self._watched: dict[str, Callable[[str | None], None]] = {}
        self._seen: dict[str, str | None] = {}
        self.tenant = Tenant("", "", "")
        settings = store.join()
        self.setting_up = settings is None
        if settings is None:
            self._publish(ready=False)
        else:
            self._adopt(settings)
        clock.on_save(lambda state: store.save_setting("clock", pack(state)))
        store.caught_up = self.sync

    # -- hooks ----------------------------------------------------------------------------------
    def on_reset(self, hook: Hook) -> None:
        """Run `hook` now (if this process sets the state up) and after every reset it makes:
        shared bootstrap data such as fixtures, written once whatever the number of processes."""
        self._on_reset.append(hook)
        if self.setting_up:
            hook()

    def on_local_reset(self, hook: Hook) -> None:
        """Run `hook` now and after every reset, whichever process made it."""
        self._on_local_reset.append(hook)
        hook()

    def on_stale(self, hook: Hook) -> None:
        """Run `hook` when another process has changed the state since this one last looked:
        what a service caches from the store is to be read again."""
        self._on_stale.append(hook)

    def watch(self, name: str, hook: Callable[[str | None], None]) -> None:
        """Run `hook` with the value of the shared setting `name` now, if it has one, and with its
        new value (None once a reset or a lost state has dropped it) whenever another process
        has changed it."""
        self._watched[name] = hook
        self._seen[name] = value = self.store.setting(name)
        if value is not None:
            hook(value)

    def share(self, name: str, value: str) -> None:
        """Save a shared setting for every process (`watch`); this one knows it already."""
        self.store.save_setting(name, value)
        self._seen[name] = value

    def ready(self) -> None:
        """Every hook is registered: a set-up this process made is complete, others may serve."""
        if self.setting_up:
            self.store.mark_ready()
            self.setting_up = False

    # -- reset and sync -------------------------------------------------------------------------
    def reset(self) -> None:
        """Everything back to how it was set up, for every process sharing the store."""
        with self.store.atomic():
            self._publish(ready=True)
            self._rebuild()

    def replace(self, tenant: Tenant, clock: dict, contents: dict) -> None:
        """The store holds `contents`, the tenant and the clock are the given ones, and every
        process rebuilds what it keeps for itself, as after a reset (its bootstrap keys still
        let it in). The id factory is left where it is: a new id never repeats a restored one."""
        with self.store.atomic():
            self.tenant = tenant
            self.clock.restore(clock)
            self.store.publish(self._settings(), True)
            self.store.fill(contents)
            self._run(self._on_local_reset)

    def sync(self) -> None:
        """Catch up with what other processes did: at the start of a request."""
        poll = self.store.poll()
        if poll is None:
            return
        if poll.lost:
            if not self.setting_up:
                self._set_up_again()
            return
        if poll.reset:
            self._adopt(poll.settings)
            self._run(self._on_local_reset)
        elif "clock" in poll.settings:
            self.clock.restore(orjson.loads(poll.settings["clock"]))
        for name, hook in self._watched.items():
            value = poll.settings.get(name)
            if value != self._seen.get(name):
                self._seen[name] = value
                hook(value)
        if poll.wrote:
            self._run(self._on_stale)

    def _set_up_again(self) -> None:
        """The shared state is gone: set it up as a reset does, once, whichever process
        notices first; the others adopt what it made. The tenant and the clock are kept as this
        process last saw them (ids stay valid, the clock never goes back); what others wrote
        since it was set up is lost (docs/reliability.md says what)."""
        with self.store.atomic():  # its first entry syncs: a process that got here first is adopted
            poll = self.store.poll()
            if poll is not None and poll.lost:
                log.warning("the shared state was lost (the store was flushed or restarted): setting it up again, "
                            "with the same tenant and clock")
                self.store.publish(self._settings(), ready=True)
                self._rebuild()

    def _publish(self, ready: bool) -> None:
        self.ids.reset()
        self.clock.reset()
        self.tenant = Tenant(self.ids.new("tenant"), self.ids.new("env"), self.ids.new("user"))
        self.store.publish(self._settings(), ready)

    def _rebuild(self) -> None:
        """What the hooks write into a state just published: shared data, then each process's own."""
        self._run(self._on_reset)
        self._run(self._on_local_reset)

    def _settings(self) -> dict[str, str]:
        return {"tenant": pack(list(self._tenant_ids())), "clock": pack(self.clock.state())}

    def _adopt(self, settings: dict[str, str]) -> None:
        self.tenant = Tenant(*orjson.loads(settings["tenant"]))
        self.clock.restore(orjson.loads(settings["clock"]))

    def _tenant_ids(self) -> tuple[str, str, str]:
        return self.tenant.tenant_id, self.tenant.environment_id, self.tenant.user_id

    @staticmethod
    def _run(hooks: list[Hook]) -> None:
        for hook in hooks:
            hook()
