"""The sales-manager comparison in a real browser. Two sales managers; a counterparty of the first
handed to the second (both today: the CRM knows no manager of it before today, so its 1979 sales go
to the second in both crediting modes), one of the second's, an unlinked customer's sale (no
manager), a completed interaction by the first; all in 1979, a year no other browser test uses. The
page's chart and table are checked against the API's answers in both crediting modes (they differ in
counterparties: those a manager had at the end of 1979 — none yet — or today's): names (never ids),
the "no manager" row, sorting by a column through the API, another indicator on the chart, the
files' links, the drill-down to a manager's customers and on to the counterparty's card, the API's
422 at its field, the empty period and the Bulgarian texts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

PERIOD = {"from": "1979-01-01", "to": "1979-12-31"}
ROUTE = "/analytics/managers?from=1979-01-01&to=1979-12-31"
DRAWN = (
    "() => { const c = Chart.getChart(document.querySelector('.analytics-chart canvas'));"
    " return { labels: c.data.labels, label: c.data.datasets[0].label, data: c.data.datasets[0].data }; }"
)


async def settled(admin_api: Any, params: dict[str, str], done: Any) -> dict[str, Any]:
    """The comparison once analytics has heard of everything (it learns from the services' events)."""
    async with asyncio.timeout(30):
        while True:
            answer = await admin_api.client.get("/api/v1/analytics/managers", params={**PERIOD, **params})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            if done(body):
                return dict(body)
            await asyncio.sleep(0.2)


def revenue_of(body: dict[str, Any]) -> dict[str, str]:
    return {r["manager"]: r["revenue"] for r in body["rows"]}


async def check_table(page: Any, body: dict[str, Any], names: dict[str, str]) -> None:
    """The table on screen is the API's answer: its rows in its order, every indicator of ours."""
    rows = page.locator("table.analytics-managers tbody tr")
    await expect(rows).to_have_count(len(body["rows"]))
    for index, row in enumerate(body["rows"]):
        await expect(rows.nth(index)).to_have_attribute("data-manager", row["manager"])
        if row["manager"] not in names:
            continue  # another test's manager: its numbers are the API's too, its name is not ours to know
        line = rows.nth(index)
        await expect(line.locator("th")).to_have_text(names[row["manager"]])
        for column in (
            "revenue",
            "cost",
            "discounts",
            "deals",
            "clients",
            "revenue_per_deal",
            "interactions",
            "counterparties",
        ):
            value = row[column]
            await expect(line.locator(f"td[data-column='{column}']")).to_have_text("—" if value is None else str(value))
    total = page.locator("table.analytics-managers tfoot tr")
    await expect(total.locator("td[data-column='revenue']")).to_have_text(body["total"]["revenue"])


async def test_manager_comparison_chart_table_credit_drill_down_and_files(
    ui: Any, page: Any, admin_api: Any, tag: str
) -> None:
    first = await admin_api.create_user(f"mgr-a-{tag}", ["sales_manager"], ["general"])
    second = await admin_api.create_user(f"mgr-b-{tag}", ["sales_manager"], ["general"])
    moved = await admin_api.create_counterparty(
        f"Преместен {tag}", external_codes=[{"code": f"MGA-{tag}"}], main_manager=first["id"]
    )
    await admin_api.create_counterparty(
        f"Запазен {tag}", external_codes=[{"code": f"MGB-{tag}"}], main_manager=second["id"]
    )
    # The first manager's counterparty goes to the second.
    answer = await admin_api.client.patch(
        f"/api/v1/counterparties/{moved['id']}",
        json={"main_manager": second["id"]},
        headers={"If-Match": moved["etag"]},
    )
    assert answer.status_code == 200, answer.text
    await admin_api.wait_for_interactions_to_know(moved["id"])
    await admin_api.create_interaction(
        direction="outgoing",
        state="completed",
        outcome="Done",
        kind="meeting",
        subject=f"Meeting {tag}",
        counterparty_id=moved["id"],
        responsible=first["id"],
        start="1979-04-02T09:00:00+00:00",
        end="1979-04-02T09:45:00+00:00",
    )
    facts = [
        {"id": f"MG1-{tag}", "date": "1979-03-06", "customer": f"MGA-{tag}", "quantity": "1", "revenue": "100.00"},
        {"id": f"MG2-{tag}", "date": "1979-05-02", "customer": f"MGA-{tag}", "quantity": "2", "revenue": "40.00"},
        {"id": f"MG3-{tag}", "date": "1979-03-12", "customer": f"MGB-{tag}", "quantity": "1", "revenue": "50.00"},
        {"id": f"MG4-{tag}", "date": "1979-03-15", "customer": f"NOMG-{tag}", "quantity": "1", "revenue": "30.00"},
    ]
    answer = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert answer.status_code == 200, answer.text
    a, b = first["id"], second["id"]
    then = await settled(
        admin_api,
        {},
        lambda body: (
            {k: v for k, v in revenue_of(body).items() if k in (a, b)} == {a: "0.00", b: "190.00"}
            and next(r["interactions"] for r in body["rows"] if r["manager"] == a) == 1
            and revenue_of(body).get("", "0") != "0.00"
        ),
    )
    assert {r["manager"]: r["counterparties"] for r in then["rows"] if r["manager"] in (a, b)} == {a: 0, b: 0}
    now = await settled(
        admin_api,
        {"credit": "current"},
        lambda body: (
            revenue_of(body).get(b) == "190.00"
            and next(r["counterparties"] for r in body["rows"] if r["manager"] == b) == 2
        ),
    )
    names = {a: first["name"], b: second["name"], "": "No manager"}

    await ui.sign_in(then=None)
    await ui.nav("Managers")
    await expect(ui.heading).to_have_text("Sales-manager comparison")
    await ui.goto(ROUTE)

    # Credited at the time: the chart of revenue (greatest first) and the table are the API's answer.
    await expect(page.get_by_label("Credit sales to")).to_have_value("at_the_time")
    chart = page.locator(".analytics-chart")
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(DRAWN)
    assert drawn["label"] == "Revenue, EUR"
    assert len(drawn["labels"]) == len(then["rows"])
    assert drawn["data"] == sorted((float(r["revenue"]) for r in then["rows"]), reverse=True)
    charted = dict(zip(drawn["labels"], drawn["data"], strict=True))
    assert charted[first["name"]] == 0.0 and charted[second["name"]] == 190.0
    assert charted["No manager"] == float(revenue_of(then)[""])
    await check_table(page, then, names)
    await expect(page.locator("tr[data-manager=''] th")).to_have_text("No manager")
    await expect(page.locator(".analytics-no-manager-note")).to_contain_text("customer codes no counterparty carries")
    second_row = page.locator(f"tr[data-manager='{b}']")
    await expect(second_row.locator("td[data-column='deals']")).to_have_text("3")
    await expect(second_row.locator("td[data-column='clients']")).to_have_text("2")
    await expect(second_row.locator("td[data-column='revenue_per_deal']")).to_have_text("63.33")
    await expect(second_row.locator("td[data-column='counterparties']")).to_have_text("0")
    first_row = page.locator(f"tr[data-manager='{a}']")
    await expect(first_row.locator("td[data-column='deals_per_client']")).to_have_text("—")
    await expect(first_row.locator("td[data-column='interaction_minutes']")).to_have_text("45.00")
    await expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/analytics/managers.csv?from=1979-01-01&to=1979-12-31"
    )
    await ui.screenshot("analytics-managers")

    # Another indicator on the chart: the same rows, that indicator's numbers; kept in the address.
    await page.get_by_label("Indicator on the chart").select_option("interactions")
    await expect(chart.locator("canvas")).to_have_attribute("aria-label", "The managers compared on Interactions")
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(DRAWN)
    assert drawn["label"] == "Interactions"
    assert dict(zip(drawn["labels"], drawn["data"], strict=True))[first["name"]] == 1
    assert "chart=interactions" in page.url

    # Sorting by a column is the API's order; the same column again turns it round.
    await page.locator("th button[data-sort='deals']").click()
    await expect(page.locator("th[aria-sort='descending'] button")).to_have_attribute("data-sort", "deals")
    by_deals = (await admin_api.client.get("/api/v1/analytics/managers", params={**PERIOD, "sort": "deals"})).json()
    await check_table(page, by_deals, names)
    await page.locator("th button[data-sort='deals']").click()
    await expect(page.locator("th[aria-sort='ascending'] button")).to_have_attribute("data-sort", "deals")
    ascending = (
        await admin_api.client.get("/api/v1/analytics/managers", params={**PERIOD, "sort": "deals", "order": "asc"})
    ).json()
    await check_table(page, ascending, names)
    wanted = "from=1979-01-01&to=1979-12-31&sort=deals&order=asc"
    await expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", f"/api/v1/analytics/managers.csv?{wanted}"
    )
    await expect(page.get_by_role("link", name="Download Excel (XLSX)")).to_have_attribute(
        "href", f"/api/v1/analytics/managers.xlsx?{wanted}&lang=en"
    )
    download = await admin_api.client.get(f"/api/v1/analytics/managers.csv?{wanted}")
    assert download.status_code == 200, download.text
    assert f"\r\n{b},190.00," in download.text

    # Today's manager: the second manager's counterparties are today's two.
    await ui.goto(ROUTE)
    await page.get_by_label("Credit sales to").select_option("current")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator(f"tr[data-manager='{b}'] td[data-column='counterparties']")).to_have_text("2")
    assert "credit=current" in page.url
    await check_table(page, now, names)
    drawn = await page.evaluate(DRAWN)
    assert dict(zip(drawn["labels"], drawn["data"], strict=True))[second["name"]] == 190.0
    await expect(page.locator(".analytics-summary")).to_contain_text("credited to the customer’s manager today")

    # The second manager's customers (as credited today), each linked to the counterparty's card.
    await page.locator(f"tr[data-manager='{b}'] th button").click()
    drill = page.locator(".analytics-manager-customers")
    await expect(drill.get_by_role("heading", level=2)).to_have_text(
        f"Customers of {second['name']}, 1979-01-01 – 1979-12-31"
    )
    customers = (
        await admin_api.client.get(f"/api/v1/analytics/managers/{b}/customers", params={**PERIOD, "credit": "current"})
    ).json()
    assert [(r["customer"], r["revenue"]) for r in customers["rows"]] == [
        (f"MGA-{tag}", "140.00"),
        (f"MGB-{tag}", "50.00"),
    ]
    lines = drill.locator("tbody tr")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0)).to_have_attribute("data-customer", f"MGA-{tag}")
    await expect(lines.nth(0).locator("td[data-column='revenue']")).to_have_text("140.00")
    await expect(lines.nth(0).locator("td[data-column='deals']")).to_have_text("2")

    # No manager: the unlinked customer's sale, "not linked".
    await page.locator("tr[data-manager=''] th button").click()
    await expect(drill.get_by_role("heading", level=2)).to_contain_text("Customers of No manager")
    unlinked = drill.locator(f"tr[data-customer='NOMG-{tag}']")
    await expect(unlinked.locator("td[data-column='revenue']")).to_have_text("30.00")
    await expect(unlinked).to_contain_text("not linked")

    # And on to the card of a customer's counterparty.
    await page.locator(f"tr[data-manager='{b}'] th button").click()
    await drill.get_by_role("link", name=f"Преместен {tag}").click()
    await expect(ui.heading).to_have_text(f"Преместен {tag}")
    assert moved["id"] in page.url

    # The API's refusal lands at the field it names (a day before the facts' first possible one).
    await ui.goto("/analytics/managers?from=1969-12-01&to=1970-01-31")
    await expect(page.locator(".field[data-field='from'] .field-error")).to_be_visible()
    await expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")

    try:
        await page.locator("#language").select_option("bg")
        await ui.goto(ROUTE)
        await expect(ui.heading).to_have_text("Сравнение на търговските мениджъри")
        await expect(page.locator("tr[data-manager=''] th")).to_have_text("Без мениджър")
        await expect(page.locator("th button[data-sort='revenue']")).to_have_text("Приходи, EUR")
        await expect(page.get_by_label("Продажбите се отчитат на")).to_have_value("at_the_time")
        await expect(page.get_by_role("link", name="Изтегли CSV")).to_be_visible()
        assert (await page.get_by_role("link", name="Изтегли Excel (XLSX)").get_attribute("href")).endswith("lang=bg")
        await expect(page.locator(".analytics-no-manager-note")).to_contain_text("Без мениджър: продажби")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})


async def test_empty_period(ui: Any, page: Any) -> None:
    await ui.sign_in(then=None)
    await ui.goto("/analytics/managers?from=1975-02-01&to=1975-02-28")
    await expect(page.locator(".analytics-empty")).to_contain_text("Nothing is credited to any manager from 1975-02-01")
