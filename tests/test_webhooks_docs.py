"""docs/webhooks.md run as a user runs it: its Flask receiver verifies what the mock sends, and
its pytest example passes with the plugin's `flexprice_webhooks` fixture."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
from werkzeug.serving import make_server

from mock_server import MockServer
from mock_server.devtools.webhooks import WebhookOptions

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "webhooks.md"

pytest_plugins = ["pytester"]


def doc_block(first_line: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    (block,) = [b for b in blocks if b.startswith(first_line)]
    return block


def test_the_doc_flask_receiver_accepts_every_signed_delivery(full_spec, capsys):
    receiver: dict = {"__name__": "receiver"}
    exec(compile(doc_block("# receiver.py"), "receiver.py", "exec"), receiver)  # noqa: S102 - our own doc
    server = make_server("127.0.0.1", 0, receiver["app"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the doc's
    options = WebhookOptions(urls=(f"http://127.0.0.1:{server.server_port}/webhooks",), secret=secret)
    try:
        with MockServer(spec=full_spec, webhooks=options) as mock, httpx.Client(
                base_url=mock.url + "/", headers={"x-api-key": mock.api_key}) as api:
            customer = api.post("customers", json={"external_id": "doc-1", "name": "Ada"}).json()
            plan = api.post("plans", json={"name": "Pro", "lookup_key": "pro"}).json()
            api.post("prices", json={"amount": "10", "currency": "usd", "entity_type": "PLAN", "entity_id": plan["id"],
                                     "type": "FIXED", "billing_model": "FLAT_FEE", "billing_period": "MONTHLY",
                                     "invoice_cadence": "ARREAR", "price_unit_type": "FIAT"})
            sub = api.post("subscriptions", json={"customer_id": customer["id"], "plan_id": plan["id"],
                                                  "currency": "usd", "billing_period": "MONTHLY"}).json()
            api.post(f"subscriptions/{sub['id']}/cancel", json={"cancellation_type": "immediate"})
            found = _settled(mock)
    finally:
        server.shutdown()
    assert [d["event_type"] for d in found] == ["customer.created", "subscription.created", "subscription.updated",
                                                 "subscription.cancelled"]
    assert {(d["status"], d["last_status"]) for d in found} == {("delivered", 204)}  # a bad signature is 400
    assert f"revoke access for {customer['id']}" in capsys.readouterr().out


def _settled(mock: MockServer) -> list[dict]:
    for _ in range(500):
        found = mock.app.webhooks.deliveries()
        if found and all(d["status"] != "pending" for d in found):
            return found
        threading.Event().wait(0.02)
    raise AssertionError(f"deliveries still pending: {mock.app.webhooks.deliveries()}")


def test_the_doc_pytest_example_passes_with_the_plugin_fixture(pytester, full_spec):
    pytester.makepyfile(test_webhook_handler=doc_block("# test_webhook_handler.py"))
    result = pytester.runpytest("-p", "no:randomly", "--flexprice-spec", str(full_spec))
    result.assert_outcomes(passed=1)
