"""The relationship stage and XYZ class in the web UI (issue 14): an administrator records the XYZ
page's parameters as a stage run (new, then "recorded before"), the run is listed, the stage and
class then show on the counterparty card (with the run's date and scheme on hover) and in the list,
which filters by stage, in English and Bulgarian; a marketer reads the page but cannot record."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import PASSWORD, Api, CrmProcess, Ui

pytestmark = pytest.mark.browser

TO = "2023-03-31"  # a quarter no other browser test records facts in
SCHEME = "month:3:revenue:10/25:2:EUR"


async def until(api: Any, path: str, done: Callable[[Any], bool], timeout: float = 20) -> None:
    """Poll ``path`` until its answer satisfies ``done``."""
    async with asyncio.timeout(timeout):
        while not done((await api.get(path)).json()):  # noqa: ASYNC110 (polling another process)
            await asyncio.sleep(0.1)


async def test_a_stage_run_recorded_on_the_xyz_page_shows_on_the_card_and_the_list(
    ui: Ui, page: Page, admin_api: Api, crm: CrmProcess, open_ui: Callable[[str], Awaitable[Ui]], tag: str
) -> None:
    steady = await admin_api.create_counterparty(f"Етап Редовен {tag}", external_codes=[{"code": f"REG-{tag}"}])
    once = await admin_api.create_counterparty(f"Етап Еднократен {tag}", external_codes=[{"code": f"ONE-{tag}"}])

    def sale(code: str, day: str, revenue: str = "100.00") -> dict[str, str]:
        customer = f"{code}-{tag}"
        return {"id": f"S-{customer}-{day}", "date": day, "customer": customer, "quantity": "1", "revenue": revenue}

    facts = [sale("REG", f"2023-0{m}-10") for m in (1, 2, 3)] + [sale("ONE", "2023-02-10", "50.00")]
    sent = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert sent.status_code == 200, sent.text
    codes = {f"REG-{tag}", f"ONE-{tag}"}
    await until(admin_api, "/api/v1/analytics/abc/unlinked", lambda b: not {u["customer"] for u in b["items"]} & codes)

    # The administrator records the page's parameters as a run: new, then found as recorded before.
    await ui.sign_in()
    await ui.goto(f"/analytics/xyz?to={TO}&periods=3")
    await expect(page.locator("table.xyz-rows")).to_be_visible()
    record = page.get_by_role("button", name="Record as a run")
    await record.click()
    note = page.locator(".xyz-recorded [role=status]")
    await expect(note).to_have_attribute("data-recorded", "new")
    await expect(note).to_contain_text(f"Recorded as a new stage run as of {TO} (scheme {SCHEME})")
    runs = page.locator("table.xyz-runs-table tbody tr")
    await expect(runs.filter(has_text=SCHEME)).to_have_count(1)
    await expect(runs.first).to_have_attribute("aria-current", "true")
    await ui.screenshot("xyz-stage-run-recorded")
    await record.click()
    await expect(note).to_have_attribute("data-recorded", "before")
    await expect(note).to_contain_text("These parameters were recorded before, so nothing new was recorded.")
    await expect(runs.filter(has_text=SCHEME)).to_have_count(1)

    # Contacts takes the stages from the bus: waited for, then the card and the list show them.
    await until(admin_api, f"/api/v1/counterparties/{once['id']}", lambda card: card["stage"] == "one-time")
    await until(admin_api, f"/api/v1/counterparties/{steady['id']}", lambda card: card["stage"] == "regular")
    await ui.goto(f"/counterparties/{steady['id']}")
    stage = page.locator(".page-head .cp-stage-badge")
    await expect(stage).to_have_text("Regular")
    await expect(stage).to_have_attribute("title", f"Stage run as of {TO}, scheme {SCHEME}; new")
    await expect(page.locator(".page-head .cp-xyz-badge")).to_have_text("X")
    await expect(page.locator(".page-head .cp-xyz-badge")).to_have_attribute("aria-label", "XYZ class X")
    await ui.screenshot("counterparty-stage-badge")

    await ui.goto(f"/counterparties?q=Етап {tag}")
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("table.data-table thead")).to_contain_text("Stage")
    await expect(page.locator("table.data-table thead")).to_contain_text("XYZ class")
    regular_row = rows.filter(has_text=f"Етап Редовен {tag}")
    await expect(regular_row.locator("td.cp-stage")).to_have_text("Regular")
    await expect(regular_row.locator("td.cp-xyz")).to_have_text("X")
    once_row = rows.filter(has_text=f"Етап Еднократен {tag}")
    await expect(once_row.locator("td.cp-stage")).to_have_text("One-time")
    await expect(once_row.locator("td.cp-xyz")).to_have_text("—")
    await page.get_by_label("Stage", exact=True).select_option("one-time")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"Етап Еднократен {tag}")
    assert "stage=one-time" in page.url
    await page.get_by_label("Stage", exact=True).select_option("")
    await page.get_by_label("XYZ class", exact=True).select_option("X")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"Етап Редовен {tag}")
    assert "xyz_class=X" in page.url

    try:
        await page.locator("#language").select_option("bg")
        await expect(page.get_by_label("XYZ клас", exact=True)).to_have_value("X")
        await expect(rows.first.locator("td.cp-stage")).to_have_text("Постоянен")
        await ui.goto(f"/counterparties?stage=one-time&q=Етап {tag}")
        await expect(page.get_by_label("Етап", exact=True)).to_have_value("one-time")
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator("td.cp-stage")).to_have_text("Еднократен")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})

    # A marketer reads the page and the recorded runs, but has no button to record one.
    await admin_api.create_user(f"stage-mk-{tag}", ["marketer"], ["general"])
    marketer = await open_ui(crm.base_url)
    await marketer.sign_in(f"stage-mk-{tag}", PASSWORD, then=f"/analytics/xyz?to={TO}&periods=3")
    await expect(marketer.page.locator("table.xyz-rows")).to_be_visible()
    await expect(marketer.page.locator("table.xyz-runs-table tbody tr").filter(has_text=SCHEME)).to_have_count(1)
    await expect(marketer.page.get_by_role("button", name="Record as a run")).to_have_count(0)
