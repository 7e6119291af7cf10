"""Prepaid credits drawn on invoices as the real server draws them (BILLING-2.md section 4): at
finalize for subscription invoices (the renewal the clock issues included), at creation for
one-off ones; only USAGE lines, after discounts, before tax; the wallet debit referencing the
invoice. Each test names the server file its rule rests on."""
from __future__ import annotations

from .billing_api import (  # noqa: F401 (fixtures)
    amounts,
    api,
    billing_mock,
    coupon,
    customer,
    fee_and_usage,
    ingest,
    invoices_of,
    metered_feature,
    plan,
    prepaid_wallet,
    subscribe,
    tax_rate,
    taxed,
    usage_price,
)

TOTALS = ("subtotal", "total_discount", "total_prepaid_credits_applied", "total_tax", "total", "amount_due")


def applied(invoice: dict) -> dict:
    return {line["price_type"]: line["prepaid_credits_applied"] for line in invoice["line_items"]}


def transactions(api, wallet_id: str) -> list[dict]:
    return api.ok("GET", f"wallets/{wallet_id}/transactions")["items"]


def test_the_worked_renewal_takes_20_from_a_wallet_of_10_credits_at_rate_2(api, billing_mock):
    """BILLING-2 §4, `credit_adjustment.go` CalculateCreditAdjustments and `wallet.go`
    DebitWallet: a wallet of 10 credits at rate 2 holds 20; the renewal's USAGE line of 26 takes
    all 20, its FIXED line of 15 nothing; total 21; 10 credits debited, referencing the invoice.
    The opening invoice (the fee alone) drew nothing."""
    sold = fee_and_usage(api, fee="15")
    wallet = prepaid_wallet(api, sold["customer"], "10", rate="2")
    subscription = subscribe(api, sold["customer"], sold["plan"])
    ingest(api, 260)
    billing_mock.clock.advance("P1M")
    opening, renewal = invoices_of(api, subscription["id"])
    assert amounts(opening, "total_prepaid_credits_applied", "total") == {"total_prepaid_credits_applied": "0",
                                                                           "total": "15"}
    assert amounts(renewal, *TOTALS) == {"subtotal": "41", "total_discount": "0", "total_prepaid_credits_applied": "20",
                                         "total_tax": "0", "total": "21", "amount_due": "21"}
    assert applied(renewal) == {"USAGE": "20", "FIXED": "0"}
    after = api.ok("GET", f"wallets/{wallet['id']}")
    assert (after["credit_balance"], after["balance"]) == ("0", "0")
    debit = transactions(api, wallet["id"])[0]
    assert {k: debit.get(k) for k in ("type", "amount", "credit_amount", "transaction_reason", "reference_type",
                                      "reference_id", "credit_balance_after")} == {
        "type": "debit", "amount": "20", "credit_amount": "10", "transaction_reason": "CREDIT_ADJUSTMENT",
        "reference_type": "INVOICE", "reference_id": renewal["id"], "credit_balance_after": "0"}


def test_the_worked_one_off_invoice_draws_the_same_20_when_it_is_created(api):
    """BILLING-2 §4 on a ONE_OFF invoice (`invoice.go` applyCreditsAndCouponsToInvoice): the
    credits are applied when the invoice is computed, before it is finalized."""
    buyer = customer(api)
    prepaid_wallet(api, buyer["id"], "10", rate="2")
    invoice = api.ok("POST", "invoices", {
        "customer_id": buyer["id"], "currency": "usd", "invoice_type": "ONE_OFF", "subtotal": "41", "total": "41",
        "amount_due": "41", "line_items": [{"amount": "26", "quantity": "260", "price_type": "USAGE"},
                                           {"amount": "15", "quantity": "1", "price_type": "FIXED"}]})
    assert amounts(invoice, "total_prepaid_credits_applied", "total", "amount_remaining", "invoice_status") == {
        "total_prepaid_credits_applied": "20", "total": "21", "amount_remaining": "21", "invoice_status": "FINALIZED"}
    assert applied(invoice) == {"USAGE": "20", "FIXED": "0"}


def test_credits_pay_a_usage_line_after_its_discounts_and_leave_the_tax_base_alone(api, billing_mock):
    """The order of BILLING-2: coupons, then credits on what the coupons left of each usage line
    (amount - line_item_discount - invoice_level_discount, `credit_adjustment.go`), then tax on
    `subtotal - total_discount` only (`tax.go` taxableAmount). The §1 renewal: usage 12.40 less
    its 1.24 share of the 10 % coupon leaves 11.16 for the wallet; tax 10 % of 60.66 = 6.07;
    total 72.40 - 11.74 - 11.16 + 6.07 = 55.57."""
    sold = fee_and_usage(api, fee="60")
    wallet = prepaid_wallet(api, sold["customer"], "100")
    tax_rate(api, "TEN", "10")
    taxed(api, "TEN")
    subscription = subscribe(api, sold["customer"], sold["plan"], coupons=[coupon(api, "percentage", "10")["id"]],
                             line_item_coupons={sold["fee"]: [coupon(api, "fixed", "5")["id"]]})
    ingest(api, 124)
    billing_mock.clock.advance("P1M")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert amounts(renewal, *TOTALS) == {"subtotal": "72.4", "total_discount": "11.74",
                                         "total_prepaid_credits_applied": "11.16", "total_tax": "6.07",
                                         "total": "55.57", "amount_due": "55.57"}
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "88.84"


def test_the_preview_draws_no_credits(api):
    """`invoice.go` GetPreviewInvoice computes coupons and tax only."""
    sold = fee_and_usage(api, fee="15")
    wallet = prepaid_wallet(api, sold["customer"], "50")
    subscription = subscribe(api, sold["customer"], sold["plan"])
    ingest(api, 260)
    previewed = api.ok("POST", "invoices/preview", {"subscription_id": subscription["id"]})
    assert amounts(previewed, "total_prepaid_credits_applied", "total") == {"total_prepaid_credits_applied": "0",
                                                                             "total": "41"}
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "50"


def test_only_active_prepaid_wallets_in_the_invoice_currency_are_drawn(api, billing_mock):
    """`wallet_payment.go` GetWalletsForCreditAdjustment: POST_PAID wallets and wallets in another
    currency are left alone."""
    sold = fee_and_usage(api, fee="15")
    for extra in ({"wallet_type": "POST_PAID"}, {"currency": "eur"}):
        prepaid_wallet(api, sold["customer"], "100", **extra)
    subscription = subscribe(api, sold["customer"], sold["plan"])
    ingest(api, 260)
    billing_mock.clock.advance("P1M")
    assert invoices_of(api, subscription["id"])[-1]["total_prepaid_credits_applied"] == "0"


def test_a_draw_is_never_rounded_up_and_a_remainder_below_a_cent_is_left(api, billing_mock):
    """`credit_adjustment.go`: each draw is min(round(x), x): a wallet of 10.004 pays 10.00 of a
    usage line of 26 and keeps 0.004."""
    sold = fee_and_usage(api, fee="15")
    wallet = prepaid_wallet(api, sold["customer"], "10.004")
    subscription = subscribe(api, sold["customer"], sold["plan"])
    ingest(api, 260)
    billing_mock.clock.advance("P1M")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert amounts(renewal, "total_prepaid_credits_applied", "total") == {"total_prepaid_credits_applied": "10",
                                                                           "total": "31"}
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "0.004"


def test_an_invoice_the_wallet_pays_in_full_is_paid_at_finalize(api, billing_mock):
    """`invoice.go` performFinalizeInvoiceActions: a total of 0 after credits is SUCCEEDED."""
    tokens = metered_feature(api)
    metered = plan(api)
    usage_price(api, metered["id"], tokens["meter_id"], amount="0.10")
    buyer = customer(api)
    wallet = prepaid_wallet(api, buyer["id"], "100")
    subscription = subscribe(api, buyer["id"], metered["id"])
    ingest(api, 260)
    billing_mock.clock.advance("P1M")
    renewal = invoices_of(api, subscription["id"])[-1]
    assert amounts(renewal, "total_prepaid_credits_applied", "total", "payment_status") == {
        "total_prepaid_credits_applied": "26", "total": "0", "payment_status": "SUCCEEDED"}
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "74"


def test_voiding_an_invoice_gives_its_prepaid_credits_back(api, billing_mock):
    """`invoice.go` VoidInvoice refunds `amount_paid + total_prepaid_credits_applied -
    refunded_amount`: the 20 the renewal took goes back to the wallet."""
    sold = fee_and_usage(api, fee="15")
    wallet = prepaid_wallet(api, sold["customer"], "10", rate="2")
    subscription = subscribe(api, sold["customer"], sold["plan"])
    ingest(api, 260)
    billing_mock.clock.advance("P1M")
    renewal = invoices_of(api, subscription["id"])[-1]
    api.ok("POST", f"invoices/{renewal['id']}/void", {})
    assert api.ok("GET", f"wallets/{wallet['id']}")["balance"] == "20"
