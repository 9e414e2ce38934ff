"""The analysis of interactions and information sources in a real browser: a counterparty whose ERP
code and information source the test records through contacts' API, its facts and an unlinked
customer's recorded through analytics' API (all in 1977, a year no other browser test uses); the
page draws revenue by source per month with the vendored Chart.js, lists the sources with their
percentages, opens a source to its counterparties, sorts by another measure, offers CSV and XLSX,
and leads to the counterparty's card; in Bulgarian too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

PERIOD = {"from": "1977-01-01", "to": "1977-12-31"}


async def test_sources_report_chart_table_drill_down_and_files(ui, page, admin_api, tag) -> None:
    code = f"ads-{tag}"
    await admin_api.define_reference("sources", code, f"Ads {tag}", actuality_days=0)
    made = await admin_api.create_counterparty(
        f"Източник {tag}", external_codes=[{"code": f"SRC-{tag}"}], source={"source": code, "on": "1977-01-01"}
    )
    facts: list[dict[str, Any]] = [
        {"id": f"SR1-{tag}", "date": "1977-02-10", "customer": f"SRC-{tag}", "quantity": "2", "revenue": "300.00"},
        {"id": f"SR2-{tag}", "date": "1977-03-10", "customer": f"SRC-{tag}", "quantity": "1", "revenue": "300.00"},
        {"id": f"SR3-{tag}", "date": "1977-03-20", "customer": f"NOSRC-{tag}", "quantity": "1", "revenue": "400.00"},
    ]
    answer = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert answer.status_code == 200, answer.text
    # Analytics learns the code and the source from contacts' events on the bus: wait for them.
    async with asyncio.timeout(30):
        while True:
            body = (await admin_api.client.get("/api/v1/analytics/sources", params=PERIOD)).json()
            if code in {r["source"] for r in body["rows"]}:
                break
            await asyncio.sleep(0.2)

    await ui.sign_in(then=None)
    await ui.goto("/analytics/sources?from=1977-01-01&to=1977-12-31")
    await expect(ui.heading).to_have_text("Analysis of interactions and information sources")
    chart = page.locator(".analytics-chart")
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(
        "() => { const c = Chart.getChart(document.querySelector('.analytics-chart canvas'));"
        " return [c.data.labels.length, c.data.datasets.map((d) => [d.label, d.data])]; }"
    )
    zeros = [0] * 9
    assert drawn == [12, [[f"Ads {tag}", [0, 300, 300, *zeros]], ["No source", [0, 0, 400, *zeros]]]]

    sources = page.locator("table.analytics-sources tbody tr.analytics-source")
    await expect(sources).to_have_count(2)
    first = sources.nth(0)
    await expect(first.locator("th")).to_contain_text(f"Ads {tag}")
    await expect(first.locator("td[data-measure='revenue']")).to_have_text("600.00")
    await expect(first.locator("td[data-share='revenue']")).to_have_text("60.00 %")
    await expect(first.locator("td[data-measure='sales']")).to_have_text("2")
    await expect(sources.nth(1).locator("td[data-share='revenue']")).to_have_text("40.00 %")
    await expect(sources.nth(1).locator("th")).to_contain_text("No source")

    # A source opens to its counterparties (% of the source), and back.
    toggle = first.get_by_role("button")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    child = page.locator("tr.analytics-counterparty")
    await expect(child).to_have_count(1)
    await expect(child.locator("td[data-share='revenue']")).to_have_text("100.00 %")
    await expect(child.get_by_role("link")).to_have_text(f"Източник {tag}")
    await ui.screenshot("analytics-sources")

    # Sorting by another measure asks again and keeps it in the address.
    await page.locator("th button[data-sort='quantity']").click()
    await expect(page.locator("th[aria-sort='descending'] button")).to_have_attribute("data-sort", "quantity")
    assert "sort=quantity" in page.url
    await expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/analytics/sources.csv?from=1977-01-01&to=1977-12-31&sort=quantity"
    )
    await expect(page.get_by_role("link", name="Download Excel (XLSX)")).to_have_attribute(
        "href", "/api/v1/analytics/sources.xlsx?from=1977-01-01&to=1977-12-31&sort=quantity&lang=en"
    )

    # Drill-down to the counterparty's card.
    await page.locator("tr.analytics-source").nth(0).get_by_role("button").click()
    await page.locator("tr.analytics-counterparty").get_by_role("link").click()
    await expect(ui.heading).to_have_text(f"Източник {tag}")
    assert made["id"] in page.url

    try:
        await page.locator("#language").select_option("bg")
        await ui.goto("/analytics/sources?from=1977-01-01&to=1977-12-31")
        await expect(ui.heading).to_have_text("Анализ на събитията и източниците на информация")
        await expect(page.locator("tr.analytics-source").nth(1).locator("th")).to_contain_text("Без източник")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})


async def test_empty_period_says_so(ui, page) -> None:
    await ui.sign_in(then=None)
    await ui.goto("/analytics/sources?from=1976-01-01&to=1976-01-31")
    await expect(page.locator(".analytics-empty")).to_contain_text(
        "No sales, returns or incoming interactions from 1976-01-01 to 1976-01-31"
    )


async def test_the_apis_refusal_lands_at_its_field_and_clears_the_report(ui, page) -> None:
    await ui.sign_in(then=None)
    await ui.goto("/analytics/sources?from=1976-01-01&to=1976-01-31")
    results = page.locator(".analytics-results")
    await expect(results.locator(".analytics-empty")).to_be_visible()

    # A day before the facts' first possible one: the API's 422 is shown at "From", the report emptied.
    form = page.locator("form.analytics-form")
    await form.get_by_label("From").fill("1969-12-01")
    await form.get_by_role("button", name="Show").click()
    error = form.locator(".field[data-field='from'] .field-error")
    await expect(error).to_be_visible()
    await expect(error).not_to_be_empty()
    await expect(form.get_by_label("From")).to_have_attribute("aria-invalid", "true")
    await expect(results).to_be_empty()
    await expect(page.locator(".alert-error")).to_have_count(0)

    # Asked again with a right day, the report is back and the field's message gone.
    await form.get_by_label("From").fill("1976-01-01")
    await form.get_by_role("button", name="Show").click()
    await expect(results.locator(".analytics-empty")).to_be_visible()
    await expect(error).to_be_hidden()
