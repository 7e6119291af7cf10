"""The body a webhook carries for a domain event, shaped as the served spec documents it.

The real server sends `{"event_type": "<name>", "<entity>": {...}}` (`transaction` for wallet
transactions), re-reading the entity when it sends. The spec documents each event's body as the
200 response of `POST /webhook-events/<name>` (`webhookDto.CustomerWebhookPayload`, ...); the
entity is pruned to that schema at every depth and the envelope conformed to it
(`Schemas.conform`), so fields the schema lacks and nulls it does not allow are left out. An
object the schema nests but the record only points at (`subscription.customer` beside
`customer_id`) is filled in from the store, as the real server's re-read does. On a spec without those pages (the seed spec) the envelope goes out unshaped.
"""
from __future__ import annotations

from collections.abc import Callable

from flexprice_spec.document import Spec

from ..schemas.checks import Schemas

EVENT_PAGE = "/webhook-events/"

Lookup = Callable[[str, str], "dict | None"]  # (entity, id) -> the stored record


class Payloads:
    def __init__(self, spec: Spec, schemas: Schemas, lookup: Lookup) -> None:
        self.spec, self.schemas, self.lookup = spec, schemas, lookup
        self.documented = documented_payloads(spec)

    def body(self, change: dict) -> dict:
        """The envelope for one outbox entry (`event_type`, `entity`, `payload`)."""
        event_type, entity = change["event_type"], change["entity"]
        schema = self.documented.get(event_type)
        if schema is None:
            return {"event_type": event_type, entity: change["payload"]}
        entity_schema = self.spec.properties(self.spec.resolve(schema)).get(entity)
        record = self._pruned(self._filled(change["payload"], entity_schema), entity_schema)
        return self.schemas.conform({"event_type": event_type, entity: record}, schema)

    def _filled(self, record: dict, schema: dict | None) -> dict:
        """`record` with the objects its schema nests and it only names by id (`customer`)."""
        filled = dict(record)
        for name, sub in self.spec.properties(self.spec.resolve(schema)).items():
            reference = record.get(f"{name}_id")
            if name not in record and isinstance(reference, str) and self.spec.properties(self.spec.resolve(sub)):
                found = self.lookup(name, reference)
                if found is not None:
                    filled[name] = found
        return filled

    def _pruned(self, value: object, schema: dict | None) -> object:
        """`value` with only the fields its schema names, at every depth, and no null the schema
        does not allow; a map without named properties (`metadata`) is kept as it is."""
        node = self.spec.resolve(schema)
        if isinstance(value, dict):
            props = self.spec.properties(node)
            if not props:
                return value
            return {key: self._pruned(item, props[key]) for key, item in value.items()
                    if key in props and (item is not None or self.spec.resolve(props[key]).get("nullable"))}
        if isinstance(value, list) and "items" in node:
            return [self._pruned(item, node["items"]) for item in value]
        return value


def documented_payloads(spec: Spec) -> dict[str, dict]:
    """Event type -> the body schema its `POST /webhook-events/<name>` page documents."""
    found = {}
    for path, item in spec.document.get("paths", {}).items():
        if not path.startswith(EVENT_PAGE):
            continue
        schema = ((((item.get("post") or {}).get("responses") or {}).get("200") or {})
                  .get("content", {}).get("application/json", {}).get("schema"))
        if schema is not None:
            found[path[len(EVENT_PAGE):]] = schema
    return found
