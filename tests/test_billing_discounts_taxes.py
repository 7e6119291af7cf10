"""Coupons and taxes as the real server applies them (BILLING-2.md sections 1 and 2): the worked
examples with their exact amounts, the cadences and their quirks, the validation, tax rates,
their associations and inheritance. Each test names the server file its rule rests on."""
from __future__ import annotations

import pytest

from .billing_api import (  # noqa: F401 (fixtures)
    amounts,
    api,
    billing_mock,
    coupon,
    customer,
    fee_and_usage,
    fee_only,
    ingest,
    invoices_of,
    subscribe,
    tax_rate,
    taxed,
)

TOTALS = ("subtotal", "total_discount", "total_tax", "total", "amount_due")


def preview(api, subscription_id: str) -> dict:
    return api.ok("POST", "invoices/preview", {"subscription_id": subscription_id})


def discounts(api, subscription_id: str) -> list[str]:
    return [invoice["total_discount"] for invoice in invoices_of(api, subscription_id)]


# -- coupons: the worked example -------------------------------------------------------------------
def test_the_worked_coupons_take_5_off_the_fee_line_then_10_percent_of_the_rest(api, billing_mock):
    """BILLING-2 §1, `coupon_application.go` prepareCouponApplications and `coupon/model.go`
    ApplyDiscount: line 60 less a line coupon of 5, plus usage 12.40, leaves 67.40; 10 % of it is
    6.74; total_discount 11.74. The stored renewal spreads the 6.74 over its lines
    (`invoice.go` DistributeInvoiceLevelDiscount): 55/67.40 of it, 5.50, to the fee, the rest, 1.24, to the usage."""
    sold = fee_and_usage(api)
    five, ten = coupon(api, "fixed", "5"), coupon(api, "percentage", "10")
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[ten["id"]],
                             line_item_coupons={sold["fee"]: [five["id"]]})
    ingest(api, 124)
    previewed = preview(api, subscription["id"])
    billing_mock.clock.advance("P1M")
    opening, renewal = invoices_of(api, subscription["id"])
    assert amounts(opening, *TOTALS) == {"subtotal": "60", "total_discount": "10.5", "total_tax": "0", "total": "49.5",
                                         "amount_due": "49.5"}
    for invoice in (previewed, renewal):
        assert amounts(invoice, *TOTALS) == {"subtotal": "72.4", "total_discount": "11.74", "total_tax": "0",
                                             "total": "60.66", "amount_due": "60.66"}
        assert {line["price_id"]: (line["amount"], line["line_item_discount"]) for line in invoice["line_items"]} == {
            sold["fee"]: ("60", "5"), sold["usage"]: ("12.4", "0")}
    assert {line["price_id"]: line["invoice_level_discount"] for line in renewal["line_items"]} == {
        sold["fee"]: "5.5", sold["usage"]: "1.24"}
    assert [(a["coupon_id"], a["original_price"], a["discounted_amount"], a["final_price"])
            for a in renewal["coupon_applications"]] == [(five["id"], "60", "5", "55"), (ten["id"], "67.4", "6.74", "60.66")]


def test_invoice_level_coupons_apply_in_turn_each_capped_at_what_remains(api):
    """`coupon_application.go`: each invoice-level coupon discounts the running remainder and
    stops at 0; `coupon/model.go` ApplyDiscount caps a discount at the amount. 10 - 8 = 2, 50 %
    of that is 1, and a fixed 5 takes the last 1: nothing is owed, so the invoice is paid
    (`invoice.go` performFinalizeInvoiceActions)."""
    sold = fee_only(api)
    ordered = [coupon(api, "fixed", "8"), coupon(api, "percentage", "50"), coupon(api, "fixed", "5")]
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[c["id"] for c in ordered])
    (opening,) = invoices_of(api, subscription["id"])
    assert [a["discounted_amount"] for a in opening["coupon_applications"]] == ["8", "1", "1"]
    assert amounts(opening, "total_discount", "total", "payment_status") == {
        "total_discount": "10", "total": "0", "payment_status": "SUCCEEDED"}


# -- coupons: cadences -------------------------------------------------------------------------------
def test_a_once_coupon_discounts_the_opening_invoice_and_the_next_then_stops(api, billing_mock):
    """`coupon_validation.go` validateOnceCadence refuses a `once` coupon only when the
    subscription already has more than one application of it: the opening invoice and the first
    renewal are discounted, and previews follow the same count."""
    sold = fee_only(api)
    once = coupon(api, "percentage", "10", "once")
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[once["id"]])
    assert preview(api, subscription["id"])["total_discount"] == "1"
    billing_mock.clock.advance("P1M")
    assert preview(api, subscription["id"])["total_discount"] == "0"
    billing_mock.clock.advance("P1M")
    assert discounts(api, subscription["id"]) == ["1", "1", "0"]


def test_a_repeated_coupon_ends_after_its_periods_and_a_forever_one_never(api, billing_mock):
    """`coupon_association.go` computeCouponEndDate: a `repeated` coupon of 3 periods ends 3
    billing periods after the start, less a second; `coupon_validation.go` stops it at 3
    applications too. `forever` always applies."""
    sold = fee_only(api)
    repeated = coupon(api, "percentage", "10", "repeated", duration_in_periods=3)
    forever = coupon(api, "fixed", "2")
    limited = subscribe(api, sold["customer"], sold["plan"], coupons=[repeated["id"]])
    endless = subscribe(api, sold["customer"], sold["plan"], coupons=[forever["id"]])
    (association,) = api.ok("GET", "coupons/associations", subscription_ids=[limited["id"]])["items"]
    assert (association["start_date"], association["end_date"]) == ("2026-01-01T00:00:00.000Z", "2026-03-31T23:59:59.000Z")
    billing_mock.clock.advance("P4M")
    assert discounts(api, limited["id"]) == ["1", "1", "1", "0", "0"]
    assert discounts(api, endless["id"]) == ["2", "2", "2", "2", "2"]


def test_a_coupon_past_its_redeem_window_stops_discounting_renewals(api, billing_mock):
    """`billing.go` CreateInvoiceRequestForCharges checks each associated coupon again
    (`coupon_validation.go` validateCouponDateRange, by the clock): a `forever` coupon whose
    `redeem_before` has passed discounts no later invoice."""
    sold = fee_only(api)
    brief = coupon(api, "percentage", "10", redeem_before="2026-01-15T00:00:00Z")
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[brief["id"]])
    billing_mock.clock.advance("P1M")
    assert discounts(api, subscription["id"]) == ["1", "0"]


def test_a_coupon_at_its_max_redemptions_discounts_nothing_even_where_it_was_redeemed(api):
    """`coupon_association.go` counts a redemption per association; `coupon_validation.go`
    validateCouponRedemption then refuses the coupon on every invoice (total_redemptions >=
    max_redemptions), the redeeming subscription's included, and a second subscription."""
    sold = fee_only(api)
    single = coupon(api, "percentage", "10", max_redemptions=1)
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[single["id"]])
    assert api.ok("GET", f"coupons/{single['id']}")["total_redemptions"] == 1
    assert discounts(api, subscription["id"]) == ["0"]
    api.refused("POST", "subscriptions", {"customer_id": sold["customer"], "plan_id": sold["plan"], "currency": "usd",
                                          "billing_period": "MONTHLY", "coupons": [single["id"]]}, "coupons")


def test_subscription_coupons_by_code_attach_to_the_price_line_and_are_listed(api):
    """`subscription.go` handleSubCoupons: `subscription_coupons` name a coupon by code; with a
    `price_id` it is associated with that price's line item, from its own `start_date`."""
    sold = fee_and_usage(api)
    coupon(api, "fixed", "3", coupon_code="THREE")
    subscription = subscribe(api, sold["customer"], sold["plan"], subscription_coupons=[
        {"coupon_code": "THREE", "price_id": sold["fee"], "start_date": "2026-01-01T00:00:00Z"}])
    listed = api.ok("GET", "coupons/associations", subscription_ids=[subscription["id"]], expand="coupon")["items"]
    assert [(a["coupon"]["coupon_code"], a["subscription_line_item_id"] is not None) for a in listed] == [("THREE", True)]
    assert api.ok("GET", f"coupons/associations/{listed[0]['id']}")["coupon_id"] == listed[0]["coupon_id"]
    (opening,) = invoices_of(api, subscription["id"])
    assert [(line["amount"], line["line_item_discount"]) for line in opening["line_items"]] == [("60", "3")]


def test_active_only_lists_the_associations_active_now(api, billing_mock):
    """`coupon_association.go` ListCouponAssociations with `active_only`: start <= now <= end."""
    sold = fee_only(api)
    repeated = coupon(api, "percentage", "10", "repeated", duration_in_periods=1)
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[repeated["id"]])
    assert len(api.ok("GET", "coupons/associations", active_only="true")["items"]) == 1
    billing_mock.clock.advance("P1M")
    assert api.ok("GET", "coupons/associations", active_only="true")["items"] == []
    assert len(api.ok("GET", "coupons/associations", subscription_ids=[subscription["id"]])["items"]) == 1


# -- coupons: validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    ({"type": "fixed", "cadence": "forever"}, "amount_off"),
    ({"type": "fixed", "cadence": "forever", "amount_off": "0"}, "amount_off"),
    ({"type": "fixed", "cadence": "forever", "amount_off": "1e30"}, "amount_off"),
    ({"type": "percentage", "cadence": "forever", "percentage_off": "100.5"}, "percentage_off"),
    ({"type": "percentage", "cadence": "forever", "percentage_off": "ten"}, "percentage_off"),
    ({"type": "percentage", "cadence": "repeated", "percentage_off": "10"}, "duration_in_periods"),
    ({"type": "percentage", "cadence": "once", "percentage_off": "10", "duration_in_periods": 2}, "duration_in_periods"),
    ({"type": "percentage", "cadence": "once", "percentage_off": "10", "max_redemptions": 0}, "max_redemptions"),
    ({"type": "percentage", "cadence": "once", "percentage_off": "10", "redeem_after": "2026-02-01T00:00:00Z",
      "redeem_before": "2026-01-01T00:00:00Z"}, "redeem_after"),
])
def test_a_coupon_the_real_server_refuses_is_a_400_naming_the_field(api, body, field):
    """`internal/api/dto/coupon.go` CreateCouponRequest.Validate."""
    api.refused("POST", "coupons", {"name": "bad", **body}, field)


def test_only_a_coupons_name_and_metadata_can_change(api):
    """`coupon.go` UpdateCoupon: the discount stays what it was."""
    made = coupon(api, "percentage", "10")
    changed = api.ok("PUT", f"coupons/{made['id']}", {"name": "Ten", "metadata": {"campaign": "spring"},
                                                      "percentage_off": "90"})
    assert amounts(changed, "name", "metadata", "percentage_off") == {
        "name": "Ten", "metadata": {"campaign": "spring"}, "percentage_off": "10"}


@pytest.mark.parametrize(("made", "attach", "field"), [
    ({"kind": "percentage", "redeem_before": "2025-12-31T00:00:00Z"}, "coupons", "coupons"),
    ({"kind": "percentage", "redeem_after": "2026-02-01T00:00:00Z"}, "coupons", "coupons"),
    ({"kind": "fixed", "currency": "eur"}, "coupons", "coupons"),
    ({"kind": "percentage"}, "unknown price", "line_item_coupons"),
])
def test_a_coupon_a_subscription_may_not_take_is_a_400_and_nothing_is_stored(api, made, attach, field):
    """`coupon_validation.go` ValidateCoupon (redeem window, a fixed coupon's currency) and
    `subscription.go` handleSubCoupons (a line coupon's price must be on the subscription)."""
    sold = fee_only(api)
    kind, extra = made["kind"], {k: v for k, v in made.items() if k != "kind"}
    found = coupon(api, kind, "10" if kind == "percentage" else "2", **extra)
    body = {"customer_id": sold["customer"], "plan_id": sold["plan"], "currency": "usd", "billing_period": "MONTHLY"}
    body.update(coupons=[found["id"]] if attach == "coupons" else [],
                line_item_coupons={"price_unknown": [found["id"]]} if attach == "unknown price" else {})
    api.refused("POST", "subscriptions", body, field)
    assert api.ok("POST", "subscriptions/search", {})["items"] == []
    assert api.ok("GET", f"coupons/{found['id']}")["total_redemptions"] == 0


@pytest.mark.parametrize(("extra", "field", "key"), [
    ({"coupons": ["coupon_unknown"]}, "coupons", "coupon_unknown"),
    ({"subscription_coupons": [{"coupon_code": "NOPE"}]}, "subscription_coupons[0].coupon_code", "NOPE"),
])
def test_an_unknown_coupon_on_a_subscription_is_a_404_naming_the_field(api, extra, field, key):
    sold = fee_only(api)
    response = api("POST", "subscriptions", {"customer_id": sold["customer"], "plan_id": sold["plan"], "currency": "usd",
                                             "billing_period": "MONTHLY", **extra})
    assert (response.status_code, response.json()["details"]) == (404, {field: {"value": key}})


# -- coupons and taxes on one-off invoices --------------------------------------------------------
def one_off(api, customer_id: str, amount: str, **extra) -> dict:
    return api.ok("POST", "invoices", {"customer_id": customer_id, "currency": "usd", "invoice_type": "ONE_OFF",
                                       "subtotal": amount, "total": amount, "amount_due": amount,
                                       "line_items": [{"amount": amount, "quantity": "1", "display_name": "Work"}],
                                       **extra})


def test_the_worked_tax_on_a_one_off_invoice_comes_to_80_59(api):
    """BILLING-2 §2, `invoice.go` CreateOneOffInvoice and `tax.go` calculateTaxLines: subtotal 80,
    an 8 % coupon takes 6.40, the base is 73.60; 7 % is 5.152 -> 5.15 and 2.5 % is 1.84, each
    rounded on its own; total_tax 6.99, total 80.59. The coupon counts a redemption."""
    buyer = customer(api)
    eight = coupon(api, "percentage", "8")
    tax_rate(api, "STATE", "7")
    tax_rate(api, "CITY", "2.5")
    invoice = one_off(api, buyer["id"], "80", coupons=[eight["id"]], tax_rate_overrides=[
        {"tax_rate_code": "STATE", "currency": "usd"}, {"tax_rate_code": "CITY", "currency": "usd"}])
    assert amounts(invoice, *TOTALS, "invoice_status") == {
        "subtotal": "80", "total_discount": "6.4", "total_tax": "6.99", "total": "80.59", "amount_due": "80.59",
        "invoice_status": "FINALIZED"}
    assert sorted((t["tax_amount"], t["taxable_amount"]) for t in invoice["taxes"]) == [("1.84", "73.6"), ("5.15", "73.6")]
    assert api.ok("GET", f"invoices/{invoice['id']}")["taxes"] == invoice["taxes"]
    assert api.ok("GET", f"coupons/{eight['id']}")["total_redemptions"] == 1


def test_a_one_off_invoice_drops_coupons_that_are_unknown_or_cannot_be_applied(api):
    """`invoice.go` CreateOneOffInvoice skips (logs) a coupon it cannot find or validate."""
    buyer = customer(api)
    expired = coupon(api, "percentage", "10", redeem_before="2025-12-31T00:00:00Z")
    invoice = one_off(api, buyer["id"], "50", coupons=[expired["id"], "coupon_unknown"])
    assert amounts(invoice, "total_discount", "total") == {"total_discount": "0", "total": "50"}


def test_a_one_off_invoice_is_taxed_at_its_tax_rates_by_id(api):
    """`invoice.go` CreateOneOffInvoice: `tax_rates` (ids) when there are no overrides; a fixed
    rate is a flat amount per invoice (`tax.go` calculateTaxAmount)."""
    buyer = customer(api)
    flat = tax_rate(api, "FLAT", fixed="1.50")
    assert one_off(api, buyer["id"], "20", tax_rates=[flat["id"]])["total_tax"] == "1.5"
    response = api("POST", "invoices", {"customer_id": buyer["id"], "currency": "usd", "invoice_type": "ONE_OFF",
                                        "subtotal": "1", "total": "1", "amount_due": "1", "tax_rates": ["taxrate_unknown"]})
    assert (response.status_code, response.json()["details"]) == (404, {"tax_rates": {"value": "taxrate_unknown"}})


def test_a_one_off_invoice_of_a_subscription_without_rates_of_its_own_is_taxed_at_the_subscriptions(api):
    """`invoice.go` applyTaxesToInvoice: no prepared rates (no overrides, or overrides naming no
    known code) and a `subscription_id` mean the subscription's auto-apply rates; rates of its
    own replace them."""
    sold = fee_only(api, fee="10")
    sales = tax_rate(api, "SALES", "8.25")
    flat = tax_rate(api, "FLAT", fixed="1.50")
    taxed(api, "SALES")
    subscription = subscribe(api, sold["customer"], sold["plan"])
    of_subscription = {"subscription_id": subscription["id"]}
    invoice = one_off(api, sold["customer"], "40", **of_subscription)
    assert amounts(invoice, "total_tax", "total") == {"total_tax": "3.3", "total": "43.3"}  # 8.25 % of 40
    assert [t["tax_rate_id"] for t in invoice["taxes"]] == [sales["id"]]
    unknown = [{"tax_rate_code": "NONE", "currency": "usd"}]
    assert one_off(api, sold["customer"], "40", tax_rate_overrides=unknown, **of_subscription)["total_tax"] == "3.3"
    assert one_off(api, sold["customer"], "40", tax_rates=[flat["id"]], **of_subscription)["total_tax"] == "1.5"
    assert one_off(api, sold["customer"], "40")["total_tax"] == "0"  # no subscription: untaxed


# -- taxes on subscriptions ------------------------------------------------------------------------
def test_the_worked_tax_on_a_subscription_invoice_with_the_customers_rates(api, billing_mock):
    """BILLING-2 §2 on a subscription: the customer's auto-apply associations are copied to the
    subscription (`subscription.go` handleTaxRateLinking) and its invoices are taxed at finalize
    (`invoice.go` RecalculateTaxesOnInvoice): 80 less 8 % is 73.60; tax 6.99; total 80.59. The
    preview shows the same, with the rates it used."""
    sold = fee_only(api, fee="80")
    tax_rate(api, "STATE", "7")
    tax_rate(api, "CITY", "2.5")
    taxed(api, "STATE")
    taxed(api, "CITY")
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[coupon(api, "percentage", "8")["id"]])
    copies = api.ok("GET", "taxes/associations", entity_type="subscription", entity_id=subscription["id"])["items"]
    assert sorted((a["entity_type"], a["auto_apply"]) for a in copies) == [("subscription", True)] * 2
    previewed = preview(api, subscription["id"])
    (opening,) = invoices_of(api, subscription["id"])
    for invoice in (opening, previewed):
        assert amounts(invoice, *TOTALS) == {"subtotal": "80", "total_discount": "6.4", "total_tax": "6.99",
                                             "total": "80.59", "amount_due": "80.59"}
    assert sorted(t["tax_rate"]["code"] for t in previewed["taxes"]) == ["CITY", "STATE"]
    assert len(invoices_of(api, subscription["id"])) == 1  # the preview stored nothing


def test_only_auto_apply_associations_are_inherited_and_overrides_replace_them(api):
    """`subscription.go` handleTaxRateLinking: without `tax_rate_overrides` the customer's
    auto-apply associations are copied; with them, only they are made (an override's
    `auto_apply` is false unless sent, so it taxes nothing); an empty list makes none.
    `auto_apply` defaults to false (`internal/api/dto/taxassociation.go`)."""
    sold = fee_only(api, fee="100")
    for code, rate in (("A", "10"), ("B", "5"), ("C", "1")):
        tax_rate(api, code, rate)
    taxed(api, "A")
    assert taxed(api, "B", auto_apply=False)["auto_apply"] is False

    def tax_of(**extra) -> str:
        subscription = subscribe(api, sold["customer"], sold["plan"], **extra)
        return invoices_of(api, subscription["id"])[0]["total_tax"]

    assert tax_of() == "10"
    assert tax_of(tax_rate_overrides=[{"tax_rate_code": "C", "currency": "usd", "auto_apply": True}]) == "1"
    assert tax_of(tax_rate_overrides=[{"tax_rate_code": "C", "currency": "usd"}]) == "0"
    assert tax_of(tax_rate_overrides=[]) == "0"


def test_a_new_customer_takes_the_tenants_auto_apply_rates_or_its_own_overrides(api):
    """`customer.go` CreateCustomer links the tenant's auto-apply associations, or its
    `tax_rate_overrides` instead."""
    tenant_id = api.ok("GET", "users/me")["tenant"]["id"]
    tax_rate(api, "VAT", "20")
    tax_rate(api, "LOCAL", "3")
    api.ok("POST", "taxes/associations", {"tax_rate_code": "VAT", "entity_type": "tenant", "entity_id": tenant_id,
                                          "auto_apply": True})
    plain = customer(api, "plain")
    own = api.ok("POST", "customers", {"external_id": "own", "name": "Own", "tax_rate_overrides": [
        {"tax_rate_code": "LOCAL", "currency": "usd", "auto_apply": True}]})

    def rates_of(customer_id: str) -> list[str]:
        found = api.ok("GET", "taxes/associations", entity_type="customer", entity_id=customer_id)["items"]
        return [a["tax_rate_id"] for a in found]

    codes = {r["id"]: r["code"] for r in api.ok("GET", "taxes/rates")["items"]}
    assert [codes[r] for r in rates_of(plain["id"])] == ["VAT"]
    assert [codes[r] for r in rates_of(own["id"])] == ["LOCAL"]
    listed = api.ok("GET", "taxes/associations", external_customer_id="own")["items"]
    assert [codes[a["tax_rate_id"]] for a in listed] == ["LOCAL"]


# -- taxes: validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "field"), [
    ({"code": "X"}, "tax_rate_type"),
    ({"code": "X", "tax_rate_type": "percentage"}, "percentage_value"),
    ({"code": "X", "tax_rate_type": "percentage", "percentage_value": "101"}, "percentage_value"),
    ({"code": "X", "tax_rate_type": "fixed", "fixed_value": "-1"}, "fixed_value"),
    ({"code": "X", "tax_rate_type": "fixed", "fixed_value": "1", "percentage_value": "2"}, "fixed_value"),
])
def test_a_tax_rate_the_real_server_refuses_is_a_400_naming_the_field(api, body, field):
    """`internal/api/dto/taxrate.go` CreateTaxRateRequest.Validate."""
    api.refused("POST", "taxes/rates", {"name": "bad", **body}, field)


def test_a_tax_rate_code_is_unique(api):
    tax_rate(api, "ONE", "1")
    response = api("POST", "taxes/rates", {"name": "again", "code": "ONE", "tax_rate_type": "percentage",
                                           "percentage_value": "2"})
    assert (response.status_code, response.json()["code"]) == (409, "already_exists")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"tax_rate_code": "NOPE", "external_customer_id": "A"}, 404, "tax_rate_code"),
    ({"tax_rate_code": "ST", "external_customer_id": "nobody"}, 404, "external_customer_id"),
    ({"tax_rate_code": "ST", "external_customer_id": "A", "entity_id": "cust_other"}, 400, "entity_id"),
    ({"tax_rate_code": "ST", "external_customer_id": "A", "priority": -1}, 400, "priority"),
    ({"tax_rate_code": "ST", "external_customer_id": "A", "start_date": "2026-02-01T00:00:00Z",
      "end_date": "2026-01-01T00:00:00Z"}, 400, "end_date"),
])
def test_a_tax_association_the_real_server_refuses_names_the_field(api, body, status, field):
    """`tax.go` CreateTaxAssociation and `internal/api/dto/taxassociation.go`."""
    customer(api)
    tax_rate(api, "ST", "7")
    response = api("POST", "taxes/associations", body)
    assert response.status_code == status, response.text
    assert field in response.json()["details"] or response.json()["details"]["field"] == {"value": field}


def test_an_override_naming_an_unknown_rate_is_a_404_and_stores_no_subscription(api):
    sold = fee_only(api)
    response = api("POST", "subscriptions", {"customer_id": sold["customer"], "plan_id": sold["plan"], "currency": "usd",
                                             "billing_period": "MONTHLY",
                                             "tax_rate_overrides": [{"tax_rate_code": "NOPE", "currency": "usd"}]})
    assert (response.status_code, response.json()["details"]) == (
        404, {"tax_rate_overrides[0].tax_rate_code": {"value": "NOPE"}})
    assert api.ok("POST", "subscriptions/search", {})["items"] == []


def test_a_rate_in_use_is_neither_changed_nor_deleted(api):
    """`tax.go` UpdateTaxRate and DeleteTaxRate refuse a rate that an association names."""
    customer(api)
    rate = tax_rate(api, "ST", "7")
    association = taxed(api, "ST")
    for method, body in (("PUT", {"name": "renamed"}), ("DELETE", None)):
        response = api(method, f"taxes/rates/{rate['id']}", body)
        assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    api.ok("DELETE", f"taxes/associations/{association['id']}")
    assert api("DELETE", f"taxes/rates/{rate['id']}").status_code == 204
