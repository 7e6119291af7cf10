"""Create bodies for the resources whose real-server rules no schema states, so the lifecycle
checks run on them too: a price belongs to a plan and has a billing model's fields; a
subscription needs a customer and a plan with a price in its currency and period; a payment pays
an invoice that has something left to pay; an alert setting watches a subscription; a tax
association names a tax rate by its code; a credit note credits a line of a finalized invoice.

Each recipe returns the body and the records it references (for `unknown_reference_is_404`).
Unique strings carry the gate's tag (`gate-<seed>-<n>`), as every other body does.
"""
from __future__ import annotations

from .chain import chain, price_base, subscribe, subscription_body, tag
from .records import Record, create_record, recipe, shared_record
from .samples import Unbuildable
from .semantic import Context


def _resource(ctx: Context, collection: str):
    resource = ctx.model.resources.get(collection)
    if resource is None:
        raise Unbuildable(f"the spec has no {collection}")
    return resource


@recipe("/prices")
def price(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """A monthly FIXED flat fee on a plan of its own (the chain's plan keeps its prices)."""
    plan = shared_record(ctx, _resource(ctx, "/plans"))
    if plan is None:
        raise Unbuildable(f"a price needs a plan: {ctx.refusals.get('/plans', 'none could be created')}")
    ctx.use(plan.trace)
    body = {**price_base(plan.id), "type": "FIXED", "billing_model": "FLAT_FEE", "amount": "10",
            "invoice_cadence": "ADVANCE", "lookup_key": tag(ctx, "price")}
    return body, {"entity_id": plan}


@recipe("/subscriptions")
def subscription(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """A new customer on the chain's plan, which has a monthly usd price."""
    built = chain(ctx)
    if built.plan is None or "fixed" not in built.prices:
        raise Unbuildable(f"a subscription needs a plan with a price: {built.missing.get('plan') or built.missing.get('fixed price')}")
    customer = create_record(ctx, _resource(ctx, "/customers"), depth + 1)
    if customer is None:
        raise Unbuildable(f"a subscription needs a customer: {ctx.refusals.get('/customers')}")
    ctx.use(built.trace)
    return subscription_body(customer.id, built.plan.id), {"customer_id": customer, "plan_id": built.plan}


@recipe("/payments")
def payment(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """A cent of the chain's opening invoice by card, not processed: INITIATED, so it pays nothing
    and may be deleted (an offline one starts PENDING, which may not), with a key of its own (the
    server dedupes payments by their contents)."""
    built = chain(ctx)
    if built.invoice is None:
        raise Unbuildable(f"a payment needs an invoice: {built.missing.get('invoice') or built.missing.get('subscription')}")
    ctx.use(built.trace)
    invoice = Record(_resource(ctx, "/invoices"), str(built.invoice["id"]), {}, built.invoice, {}, built.trace)
    body = {"destination_type": "INVOICE", "destination_id": invoice.id, "payment_method_type": "CARD",
            "amount": "0.01", "currency": "usd", "process_payment": False, "idempotency_key": tag(ctx, "payment")}
    return body, {"destination_id": invoice}


@recipe("/alerts/setting")
def alert_setting(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """Thresholds on the chain's subscription."""
    built = chain(ctx)
    if built.subscription is None:
        raise Unbuildable(f"an alert setting needs a subscription: {built.missing.get('subscription')}")
    ctx.use(built.trace)
    config = {"alert_enabled": True, "critical": {"threshold": "100", "condition": "above"}}
    return {"entity_type": "subscription", "entity_id": built.subscription.id, "config": config}, {}


@recipe("/taxes/associations")
def tax_association(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """A tax rate of the gate's on one of its customers, not applied automatically (so no
    subscription the gate makes later is taxed by it)."""
    rate = shared_record(ctx, _resource(ctx, "/taxes/rates"))
    customer = shared_record(ctx, _resource(ctx, "/customers"))
    if rate is None or customer is None:
        raise Unbuildable(f"a tax association needs a tax rate and a customer: "
                          f"{ctx.refusals.get('/taxes/rates') or ctx.refusals.get('/customers')}")
    ctx.use(rate.trace)
    ctx.use(customer.trace)
    body = {"tax_rate_code": rate.answer.get("code", rate.sent["code"]), "entity_type": "customer", "entity_id": customer.id,
            "priority": 1, "currency": "usd", "auto_apply": False}
    return body, {}


@recipe("/creditnotes")
def credit_note(ctx: Context, depth: int) -> tuple[dict, dict[str, Record]]:
    """A credit of 1 on the fixed-fee line of a subscription's opening invoice (finalized, unpaid:
    an adjustment), one invoice for all the gate's credit notes."""
    if "__credited__" not in ctx.samples:
        ctx.samples["__credited__"] = subscribe(ctx, chain(ctx))[2]
    invoice = ctx.samples["__credited__"]
    lines = (invoice or {}).get("line_items") or []
    if not lines:
        raise Unbuildable("a credit note needs a finalized invoice with a line: no subscription's opening invoice was found")
    parent = Record(_resource(ctx, "/invoices"), str(invoice["id"]), {}, invoice, {}, chain(ctx).trace)
    ctx.use(parent.trace)
    body = {"invoice_id": parent.id, "reason": "BILLING_ERROR", "memo": tag(ctx, "credit"),
            "line_items": [{"invoice_line_item_id": lines[0]["id"], "amount": "1", "display_name": "contract gate"}]}
    return body, {"invoice_id": parent}
