"""The dashboard driven in a real headless Chromium, as a developer uses it: from the overview to
a customer's billing timeline, moving the clock, retrying a webhook delivery, and the login form a
mock with an admin token puts in front of it. One browser for the module; each test replays the
scripted scenario (`dashboard_scenario.py`) on a freshly reset mock."""
from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from mock_server import MockServer

from . import dashboard_scenario as scenario
from .browser import chromium, require_chromium
from .conftest import SEED_SPEC

TOKEN = "dashboard-admin-token-0123456789"


@pytest.fixture(scope="module")
def browser():
    with chromium(require_chromium()) as driver:
        yield driver


@pytest.fixture(scope="module")
def mock(full_spec):
    with scenario.mock_server(full_spec) as server:
        yield server


@pytest.fixture
def world(mock):
    with scenario.receiver() as receiver:
        yield scenario.build(mock, receiver)


def text(browser, css: str) -> str:
    """The text of the first element `css` selects, once the page shows one."""
    return eventually(lambda: [element.text for element in browser.find_elements(By.CSS_SELECTOR, css)][:1])[0]


def shows(browser, heading: str) -> bool:
    """Waits until the page's heading is `heading` (a click or a submit loads the next page)."""
    return eventually(lambda: any(h.text == heading for h in browser.find_elements(By.TAG_NAME, "h1")))


LEFT_PAGE = "does not belong to the document"


def eventually(check, timeout: float = 10.0):
    """`check()`'s first truthy answer, polled; AssertionError after `timeout`. An element of the
    page being left (a click or a submit is loading the next) is stale: not yet, not a failure.
    Chromium sometimes says so as an inspector error ("Node with given id does not belong to the
    document") rather than as a stale element: the same race, the same answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except StaleElementReferenceException:
            found = None
        except WebDriverException as error:
            if LEFT_PAGE not in str(error.msg):
                raise
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("never happened")


def test_the_overview_leads_to_a_customer_whose_timeline_shows_the_renewal_invoice(browser, world):
    browser.get(world.base + "/_mock/")
    assert shows(browser, "Overview")
    assert text(browser, "#operation-count") == str(len(world.mock.backend.model.operations))
    assert "memory" in text(browser, "#card-store") and "frozen" in text(browser, "#card-clock")
    search = browser.find_element(By.CSS_SELECTOR, "header .search input")
    search.send_keys(scenario.EXTERNAL_ID, Keys.ENTER)
    assert shows(browser, f"customer {scenario.CUSTOMER}")
    browser.find_element(By.ID, "open-timeline").click()
    renewal = eventually(lambda: browser.find_elements(By.CSS_SELECTOR, "#invoices tr[data-billing-reason=SUBSCRIPTION_CYCLE]"))[0]
    shown = renewal.find_element(By.CSS_SELECTOR, "td.total").text
    with httpx.Client(base_url=world.mock.url + "/", headers={"x-api-key": world.mock.api_key}) as api:
        invoice = api.get(f"invoices/{renewal.get_attribute('data-invoice-id')}").json()
    assert shown == f"{invoice['total']} USD"
    assert Decimal(invoice["total"]) == scenario.RENEWAL_TOTAL
    february = sum(scenario.calls_on(day) for day in scenario.FEBRUARY_DAYS)
    assert text(browser, ".meter .usage-total") == str(february)
    assert text(browser, ".wallet .credit-balance") == str(scenario.CREDITS_AFTER_RENEWAL.normalize())


def test_advancing_the_clock_from_the_page_lists_what_the_move_billed(browser, world):
    browser.get(world.base + "/_mock/dashboard/clock")
    browser.find_element(By.ID, "advance-P1M").click()
    rows = eventually(lambda: browser.find_elements(By.CSS_SELECTOR, "#moved-invoices tbody tr"))
    issued = {row.find_elements(By.TAG_NAME, "td")[1].text: row.find_element(By.CSS_SELECTOR, "td.total").text for row in rows}
    assert {customer: Decimal(total.removesuffix(" USD")) for customer, total in issued.items()} == {
        "cust_acme": Decimal("99"), scenario.CUSTOMER: scenario.MARCH_RENEWAL_TOTAL}
    assert len(browser.find_elements(By.CSS_SELECTOR, "#moved-renewals tbody tr")) == 2
    assert text(browser, "#clock-now").startswith("2026-03-10 00:00")
    assert httpx.get(world.base + "/_mock/clock").json()["now"] == "2026-03-10T00:00:00.000Z"
    browser.execute_script("document.getElementById('clock-to').value = '2026-03-01'")
    browser.find_element(By.ID, "move-to").click()
    assert "never goes backwards" in text(browser, "#move-error")


def test_the_journal_shows_a_request_with_its_bodies_and_copies_it_as_curl(browser, world):
    browser.get(world.base + "/_mock/dashboard/requests?method=POST&q=top-up")
    [exchange] = browser.find_elements(By.CSS_SELECTOR, "tbody.exchange")
    exchange.find_element(By.TAG_NAME, "summary").click()
    assert exchange.find_element(By.CSS_SELECTOR, ".request-body").text == (
        '{"credits_to_add":"50","transaction_reason":"PURCHASED_CREDIT_DIRECT"}')
    assert '"credit_balance_after":"150"' in exchange.find_element(By.CSS_SELECTOR, ".response-body").text
    command = exchange.find_element(By.CSS_SELECTOR, "pre.curl").text
    assert command.startswith("curl -X POST http://127.0.0.1:") and '"x-api-key: $FLEXPRICE_API_KEY"' in command
    assert world.mock.api_key not in browser.page_source
    button = exchange.find_element(By.CSS_SELECTOR, "button.copy")
    button.click()
    assert eventually(lambda: button.text == "copied")


def test_a_failed_webhook_delivery_is_sent_again_from_the_page(browser, world):
    world.receiver.wait_for(3)
    browser.get(world.base + "/_mock/dashboard/webhooks")
    failed = browser.find_element(By.CSS_SELECTOR, "tbody.delivery[data-status=failed]")
    delivery_id = failed.get_attribute("data-delivery-id")
    assert failed.find_element(By.CSS_SELECTOR, ".attempts").text == "1"
    assert "svix-signature: v1," in failed.find_element(By.CSS_SELECTOR, "pre.headers").get_attribute("textContent")
    failed.find_element(By.CSS_SELECTOR, "button.retry").click()
    assert delivery_id in text(browser, "#retried")

    def delivered():
        browser.refresh()
        row = browser.find_element(By.CSS_SELECTOR, f"tbody.delivery[data-delivery-id='{delivery_id}']")
        return row.get_attribute("data-status") == "delivered" and row

    assert eventually(delivered).find_element(By.CSS_SELECTOR, ".attempts").text == "2"
    ids = [received.message_id for received in world.receiver.wait_for(4)]
    assert ids.count(ids[-1]) == 2  # the same svix-id as the refused first attempt


def test_a_snapshot_file_is_restored_from_the_page_once_confirmed(browser, world, tmp_path):
    saved = tmp_path / "snapshot.json"
    saved.write_bytes(httpx.get(world.base + "/_mock/state/export").content)
    httpx.post(world.base + "/_mock/reset")
    browser.get(world.base + "/_mock/dashboard/state")
    browser.find_element(By.ID, "snapshot-file").send_keys(str(saved))
    browser.find_element(By.ID, "restore").click()
    browser.switch_to.alert.dismiss()
    assert not browser.find_element(By.ID, "restore-result").is_displayed()
    browser.find_element(By.ID, "restore").click()
    browser.switch_to.alert.accept()
    assert eventually(lambda: text(browser, "#restore-result").startswith("Restored: "))
    assert httpx.get(world.base + "/_mock/clock").json()["now"] == "2026-02-10T00:00:00.000Z"


def test_with_an_admin_token_the_page_asks_for_it_and_refuses_a_wrong_one(browser):
    with MockServer(spec=SEED_SPEC, admin_token=TOKEN) as mock:
        base = mock.url.removesuffix("/v1")
        browser.get(base + "/_mock/dashboard/requests")
        browser.find_element(By.ID, "token").send_keys("not the token", Keys.ENTER)
        assert text(browser, "#login-error") == "That is not the admin token."
        assert not browser.find_elements(By.TAG_NAME, "nav")
        assert httpx.get(base + "/_mock/dashboard/requests").status_code == 401
        browser.find_element(By.ID, "token").send_keys(TOKEN, Keys.ENTER)
        assert shows(browser, "Requests")
        assert TOKEN not in str(browser.get_cookies())
