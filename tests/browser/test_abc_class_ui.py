"""The ABC class analytics gives a counterparty (issue 14): a badge on the card, a column in the list,
and the list's filter by class, in English and Bulgarian."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def until(api: Any, path: str, done: Callable[[Any], bool], timeout: float = 20) -> None:
    """Poll ``path`` until its answer satisfies ``done``."""
    async with asyncio.timeout(timeout):
        while not done((await api.get(path)).json()):  # noqa: ASYNC110 (polling another process)
            await asyncio.sleep(0.1)


PERIOD = {"from": "2024-03-01", "to": "2024-03-31"}  # a month no other browser test records facts in


async def test_the_class_shows_on_the_card_and_in_the_list_and_filters_it(ui, page, admin_api, tag) -> None:
    top = await admin_api.create_counterparty(f"Клас А {tag}", external_codes=[{"code": f"TOP-{tag}"}])
    low = await admin_api.create_counterparty(f"Клас C {tag}", external_codes=[{"code": f"LOW-{tag}"}])
    facts = [
        {"id": f"S-{code}-{tag}", "date": "2024-03-10", "customer": f"{code}-{tag}", "quantity": "1", "revenue": v}
        for code, v in (("TOP", "900.00"), ("LOW", "100.00"))
    ]
    recorded = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert recorded.status_code == 200, recorded.text
    codes = {f"TOP-{tag}", f"LOW-{tag}"}
    # Analytics links the codes through its copy of contacts' codes; contacts takes the classes from
    # the bus: both are waited for.
    await until(admin_api, "/api/v1/analytics/abc/unlinked", lambda b: not {u["customer"] for u in b["items"]} & codes)
    created = await admin_api.client.post("/api/v1/analytics/abc/runs", json=PERIOD)
    assert created.status_code == 201, created.text
    confirmed = await admin_api.client.post(f"/api/v1/analytics/abc/runs/{created.json()['run_id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    await until(admin_api, f"/api/v1/counterparties/{low['id']}", lambda card: card["abc_class"] == "C")

    await ui.sign_in()
    await ui.goto(f"/counterparties/{top['id']}")
    badge = page.locator(".page-head .cp-abc-badge")
    await expect(badge).to_have_text("A")
    await expect(badge).to_have_attribute("title", "ABC class A for 2024-03-01 – 2024-03-31; new")
    await ui.screenshot("counterparty-abc-badge")

    await ui.goto(f"/counterparties?q=Клас {tag}")  # a tag of digits alone would be read as a tax id
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("table.data-table thead")).to_contain_text("ABC class")
    await expect(rows.filter(has_text=f"Клас C {tag}").locator("td.cp-abc")).to_have_text("C")
    await page.get_by_label("ABC class", exact=True).select_option("A")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"Клас А {tag}")
    assert "abc_class=A" in page.url

    try:
        await page.locator("#language").select_option("bg")
        await expect(page.get_by_label("ABC клас", exact=True)).to_have_value("A")
        await ui.goto(f"/counterparties/{low['id']}")
        await expect(page.locator(".page-head .cp-abc-badge")).to_have_attribute(
            "title", "ABC клас C за 2024-03-01 – 2024-03-31; нов"
        )
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})
