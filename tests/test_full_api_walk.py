"""Walk every operation of the full Flexprice spec with a valid request and check every answer.

Bodies are synthesized from each operation's request schema with the project's own `Synth`, then
their references (`customer_id`, `entity_type` + `entity_id`, `external_customer_id`, ...) are
pointed at records created earlier in the walk. Creates run first, in dependency order; deletes
run last. Every response is validated with openapi-core (`full_checker`), independently of the
mock's own validation.
"""
from __future__ import annotations

from urllib.parse import quote

from flexprice_spec.document import Spec
from flexprice_spec.resources import Model, Operation, infer
from mock_server.schemas.checks import Schemas
from mock_server.schemas.synth import Synth

PHASES = ("create", "subcreate", "bulk", "get", "lookup", "list", "search", "subcollection",
          "singleton", "computed", "update", "action", "delete")

FINAL_ACTIONS = ("cancel", "void", "terminate")  # run after the actions that need a live record
DROP = object()
METER = {"name": "Tokens", "event_name": "walk_tokens", "aggregation": {"type": "SUM", "field": "tokens"},
         "filters": [], "reset_usage": "BILLING_PERIOD"}
# What the real server's billing rules need beyond the schema, laid over the synthesized bodies:
# decimal strings that parse, a price that fits the subscription, a meter the feature can create,
# time windows in order, a coupon's discount and cadence, a tax rate's value and an association
# naming it by code, a one-off invoice (finalized at once, so it can take a credit note)
# (a synthesized value for every optional field would break each of them).
REAL_SERVER_RULES = {
    "createFeature": {"type": "metered", "meter": METER, "meter_id": DROP},
    "createPrice": {"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10", "currency": "usd",
                    "billing_period": "MONTHLY", "billing_period_count": 1, "invoice_cadence": "ADVANCE",
                    "entity_type": "PLAN", "meter_id": DROP, "tiers": DROP, "trial_period_days": DROP,
                    "end_date": DROP},
    "createSubscription": {"currency": "usd", "billing_period": "MONTHLY", "billing_period_count": 1,
                           "billing_anchor": DROP, "start_date": DROP, "trial_period_days": DROP,
                           "payment_behavior": "default_active"},
    "createWallet": {"currency": "usd", "conversion_rate": "1", "topup_conversion_rate": "1",
                     "initial_credits_to_load": "5", "wallet_type": "PRE_PAID"},
    "createInvoice": {"currency": "usd", "amount_due": "10", "subtotal": "10", "total": "10", "amount_paid": "0",
                      "invoice_type": "ONE_OFF", "invoice_status": DROP, "payment_status": "PENDING",
                      "line_items": [{"amount": "10", "quantity": "1", "display_name": "Setup"}]},
    "createEntitlement": {"feature_type": "metered", "entity_type": "PLAN", "usage_limit": 100,
                          "usage_reset_period": "MONTHLY"},
    "topUpWallet": {"transaction_reason": "FREE_CREDIT_GRANT", "credits_to_add": "10", "amount": DROP},
    "updateInvoicePaymentStatus": {"payment_status": "SUCCEEDED", "amount": DROP},
    "createPayment": {"destination_type": "INVOICE", "payment_method_type": "OFFLINE", "amount": "1", "currency": "usd",
                      "payment_method_id": DROP, "payment_gateway": DROP, "gateway_options": DROP,
                      "process_payment": False},
    "updatePayment": {"payment_status": DROP},
    "cancelSubscription": {"cancellation_type": "immediate", "cancel_at": DROP},
    "ingestEvent": {"timestamp": DROP},
    "getUsageStatistics": {"start_time": DROP, "end_time": DROP, "multiplier": DROP},
    "getUsageByMeter": {"start_time": DROP, "end_time": DROP},
    "getInvoicePreview": {"period_start": DROP, "period_end": DROP},
    "getSubscriptionUsage": {"start_time": DROP, "end_time": DROP},
    "createCoupon": {"type": "percentage", "percentage_off": "10", "amount_off": DROP, "cadence": "forever",
                     "duration_in_periods": DROP, "redeem_after": DROP, "redeem_before": DROP, "max_redemptions": DROP},
    "createTaxRate": {"code": "WALK", "tax_rate_type": "percentage", "percentage_value": "7", "fixed_value": DROP},
    "createTaxAssociation": {"tax_rate_code": "WALK", "entity_type": "customer", "external_customer_id": DROP,
                             "start_date": DROP, "end_date": DROP},
    "createCreditNote": {"process_credit_note": False},
    "listRawEvents": {"sort": DROP, "order": DROP},
    "createCreditGrant": {"scope": "PLAN", "credits": "5", "cadence": "ONETIME", "expiration_type": "NEVER",
                          "start_date": DROP, "end_date": DROP, "conversion_rate": DROP, "topup_conversion_rate": DROP},
    "updateCreditGrant": {"end_date": DROP},
    "deleteCreditGrant": {"effective_date": DROP},
}


class Walker:
    """Remembers what the walk created and fills requests from it."""

    def __init__(self, spec: Spec, model: Model) -> None:
        self.spec, self.model = spec, model
        self.synth = Synth(spec, Schemas(spec), seed=7)
        self.created: dict[str, list[dict]] = {}
        self.creatable = {op.resource.collection for op in model.operations
                          if op.role in ("create", "subcreate", "bulk")}

    def record(self, collection: str | None) -> dict | None:
        records = self.created.get(collection or "", [])
        return records[-1] if records else None

    def body(self, op: Operation) -> object:
        if op.request_schema is None:
            return None
        body = self.patch(self.synth.value(op.request_schema))
        if op.role == "bulk" and isinstance(body, dict):  # each item follows the resource's create rules
            create = next((o for o in self.model.operations if o.role == "create" and o.resource is op.resource), None)
            rules = REAL_SERVER_RULES.get(create.operation_id if create else "", {})
            return {k: [_laid(item, rules) for item in v] if isinstance(v, list) else v for k, v in body.items()}
        body = _laid(body, REAL_SERVER_RULES.get(op.operation_id, {}))
        if op.operation_id == "ingestEventsBulk":
            body["events"] = [_laid(item, REAL_SERVER_RULES["ingestEvent"]) for item in body["events"]]
        if op.operation_id == "createPayment" and self.record("/invoices"):
            body["destination_id"] = self.record("/invoices")["id"]  # the invoice the payment is for
        if op.operation_id == "getUsageByMeter" and self.record("/features"):
            body["meter_id"] = self.record("/features")["meter_id"]
        if op.operation_id == "createCreditNote" and self.record("/invoices"):
            line = self.record("/invoices")["line_items"][0]  # credited in part
            body["line_items"] = [{"invoice_line_item_id": line["id"], "amount": "1", "display_name": "Walk credit"}]
        return body

    def patch(self, value: object) -> object:
        """Point every reference field at a record created earlier."""
        if isinstance(value, list):
            return [self.patch(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: self.patch(v) for k, v in value.items()}
        for name in list(out):
            target = self.model.reference_target(out, name)
            if target is None:
                continue
            resource, field = target
            found = self.record(resource.collection)
            if found is not None and field in found:
                out[name] = [found[field]] if isinstance(out[name], list) else found[field]
        return out

    def references(self, op: Operation) -> set[str]:
        """Collections that the synthesized body of `op` (and its parent) points into."""
        body = self.synth.value(op.request_schema) if op.request_schema else {}
        found = {op.parent.collection} if op.parent else set()
        if op.operation_id == "createPayment":
            found.add("/invoices")  # its destination
        if op.operation_id == "createTaxAssociation":
            found.add("/taxes/rates")  # the rate it names by code
        for name in body if isinstance(body, dict) else ():
            target = self.model.reference_target(body, name)
            if target is not None:
                found.add(target[0].collection)
        return found

    def uncreatable(self, op: Operation) -> bool:
        """Operations on records no operation of the spec creates (`/tasks/{id}`): 404 is right."""
        owner = op.parent or op.resource
        return owner is not None and owner.collection not in self.creatable and not self.created.get(owner.collection)

    def path_and_query(self, op: Operation) -> tuple[str, dict]:
        path, query = op.path, {}
        for param in op.parameters:
            name, where = param["name"], param["in"]
            if where not in ("path", "query") or (where == "query" and not param.get("required")
                                                   and name != op.key_param
                                                   and (op.operation_id, name) not in NEEDED_QUERY):
                continue
            value = self.param_value(op, name)
            if where == "path":
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            else:
                query[name] = value
        return path.lstrip("/"), query

    def param_value(self, op: Operation, name: str) -> str:
        owner = op.parent if op.role in ("subcollection", "subcreate", "action") or op.resource is None else op.resource
        if name == op.key_param and owner is not None:
            found = self.record(owner.collection)
            if found is not None:
                return str(found.get(op.key_field, found["id"]))
        target = self.model.reference_target({name: ""}, name)
        if target is not None and self.record(target[0].collection):
            return str(self.record(target[0].collection)[target[1]])
        if (op.operation_id, name) == ("getEvent", "id") and self.created.get("events"):
            return self.created["events"][-1].get("event_id", "")  # event ids come from ingest, not a create
        return f"{name}_walk"

    def remember(self, op: Operation, response) -> None:
        if op.role in ("create", "subcreate") and response.status_code == op.status and op.resource:
            body = response.json()
            nested = [v for v in body.values() if isinstance(v, dict) and "id" in v]
            self.created.setdefault(op.resource.collection, []).append(body if "id" in body else nested[0])
        if op.operation_id == "ingestEvent" and response.status_code == op.status:
            self.created.setdefault("events", []).append(response.json())


# What the real server refuses of the walk's own records, and how: the payment the walk processed
# has settled, and a settled payment is never deleted; the one-off invoice was finalized when it
# was made, and is not finalized twice; the tax rate is associated, and a rate in use is not changed;
# the walk's add-on has no price, so it cannot be attached (and no association is there to remove);
# a plan change needs a second plan, and the walk makes only one.
REFUSED = {"deletePayment": 400, "finalizeInvoice": 400, "updateTaxRate": 400, "addSubscriptionAddon": 400,
           "removeSubscriptionAddon": 404, "previewSubscriptionChange": 404, "executeSubscriptionChange": 404}

# Query parameters the spec leaves optional that the real server needs one of.
NEEDED_QUERY = {("getCustomerUsageSummary", "customer_id")}


def _laid(body: object, rules: dict) -> object:
    if not isinstance(body, dict) or not rules:
        return body
    return {k: v for k, v in {**body, **rules}.items() if v is not DROP}


def creation_order(walker: Walker) -> list[Operation]:
    """Every operation; creates sorted so the records a create's body references exist first."""
    creates = [op for op in walker.model.operations if op.role in ("create", "subcreate")]
    done: set[str] = set()
    ordered: list[Operation] = []
    while creates:
        ready = [op for op in creates if walker.references(op) <= done | {op.resource.collection}]
        for op in ready or creates[:1]:
            ordered.append(op)
            done.add(op.resource.collection)
            creates.remove(op)
    rest = sorted((op for op in walker.model.operations if op.role not in ("create", "subcreate")),
                  key=lambda op: (PHASES.index(op.role), op.action.split("/")[0] in FINAL_ACTIONS,
                                  op.operation_id != "ingestEvent"))
    return ordered + rest


def test_every_operation_of_the_full_spec_answers_valid_responses(full_spec, full_client, full_checker):
    spec = Spec.load(full_spec)
    model = infer(spec)
    walker = Walker(spec, model)
    me = full_client.get("users/me").json()  # the bootstrap user and tenant exist before any create
    walker.created.update({"/users": [me], "/tenants": [me["tenant"]]})
    problems: dict[str, list[str]] = {"5xx": [], "4xx": [], "invalid": []}
    walked, unreachable = 0, []
    for op in creation_order(walker):
        path, query = walker.path_and_query(op)
        body = walker.body(op)
        response = full_client.request(op.method.upper(), path, params=query,
                                       json=body if body is not None else None)
        walked += 1
        label = f"{op.method_path} -> {response.status_code}: {response.text[:200]}"
        if response.status_code >= 500:
            problems["5xx"].append(label)
        elif response.status_code == REFUSED.get(op.operation_id):
            pass
        elif response.status_code >= 400:
            if not walker.uncreatable(op) or response.status_code != 404:
                problems["4xx"].append(label)
            unreachable.append(op.method_path)
        try:
            full_checker.check(response, path_pattern=spec.base_path + op.path)
        except AssertionError as exc:
            problems["invalid"].append(str(exc)[:600])
        walker.remember(op, response)
    assert walked == len(list(spec.operations())) == 257
    print(f"walked {walked}; 404 for records no operation creates: {unreachable}")
    assert problems == {"5xx": [], "4xx": [], "invalid": []}, "\n".join(
        f"{kind}: {line}" for kind, lines in problems.items() for line in lines)
