"""Contact effectiveness and multi-touch attribution in a real browser. Two counterparties whose ERP
codes (and one's information source) the test records through contacts' API, completed interactions
with them through interactions' API (a call and a meeting before one's sale, an e-mail before the
other's, by two managers) and the sales through analytics' API, an unlinked customer's sale among
them; all in 1978, a year no other browser test uses. The page's charts and tables are checked against
the API's answers: effectiveness per kind, attribution with the five models side by side, sorting by
a column, another model and grouping (names, never ids), the CSV link's parameters and what it
downloads, the API's 422 at its field, the way to the counterparty's card, and the Bulgarian texts."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

PERIOD = {"from": "1978-01-01", "to": "1978-12-31"}
ROUTE = "/analytics/attribution?from=1978-01-01&to=1978-12-31"
MODELS = ["linear", "first", "last", "position", "time_decay"]  # the chosen one first, then the others
MODEL_NAMES = {
    "linear": "Linear",
    "first": "First touch",
    "last": "Last touch",
    "position": "Position-based",
    "time_decay": "Time decay",
}
KIND_NAMES = {"call": "Phone call", "meeting": "Meeting", "email": "E-mail"}
DRAWN = (
    "() => { const c = Chart.getChart(document.querySelector('.analytics-chart canvas'));"
    " return { labels: c.data.labels, datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })) }; }"
)


async def counterparty(admin_api: Any, name: str, **fields: Any) -> dict[str, Any]:
    made = await admin_api.create_counterparty(name, **fields)
    await admin_api.wait_for_interactions_to_know(made["id"])
    return made


async def settled(admin_api: Any, report: str, params: dict[str, str], done: Any) -> dict[str, Any]:
    """The report's answer once analytics has heard of everything (it learns from the services' events)."""
    async with asyncio.timeout(30):
        while True:
            answer = await admin_api.client.get(f"/api/v1/analytics/{report}", params={**PERIOD, **params})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            if done(body):
                return dict(body)
            await asyncio.sleep(0.2)


async def test_effectiveness_and_attribution_charts_tables_models_and_files(ui, page, admin_api, tag) -> None:
    source = f"fair-{tag}"
    await admin_api.define_reference("sources", source, f"Fair {tag}", actuality_days=0)
    manager = await admin_api.create_user(f"att-{tag}", ["sales_manager"], ["general"])
    admin = (await admin_api.get("/api/v1/me")).json()
    buyer = await counterparty(
        admin_api,
        f"Купувач {tag}",
        external_codes=[{"code": f"ATA-{tag}"}],
        source={"source": source, "on": "1978-01-01"},
    )
    other = await counterparty(admin_api, f"Друг {tag}", external_codes=[{"code": f"ATB-{tag}"}])
    done = {"direction": "outgoing", "state": "completed", "outcome": "Done"}
    await admin_api.create_interaction(
        **done,
        kind="call",
        subject=f"Call {tag}",
        counterparty_id=buyer["id"],
        responsible=admin["id"],
        start="1978-03-01T10:00:00+00:00",
    )
    await admin_api.create_interaction(
        **done,
        kind="meeting",
        subject=f"Meeting {tag}",
        counterparty_id=buyer["id"],
        responsible=manager["id"],
        start="1978-03-05T10:00:00+00:00",
    )
    await admin_api.create_interaction(
        **done,
        kind="email",
        subject=f"Mail {tag}",
        counterparty_id=other["id"],
        responsible=manager["id"],
        start="1978-03-10T10:00:00+00:00",
    )
    facts = [
        {"id": f"AT1-{tag}", "date": "1978-03-06", "customer": f"ATA-{tag}", "quantity": "1", "revenue": "100.00"},
        {"id": f"AT2-{tag}", "date": "1978-03-12", "customer": f"ATB-{tag}", "quantity": "1", "revenue": "50.00"},
        {"id": f"AT3-{tag}", "date": "1978-03-15", "customer": f"NOAT-{tag}", "quantity": "1", "revenue": "30.00"},
    ]
    answer = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert answer.status_code == 200, answer.text
    # What the scenario makes, once analytics has heard of it all (the page is checked against these answers).
    effectiveness = await settled(
        admin_api,
        "effectiveness",
        {},
        lambda b: (
            {r["key"]: r["revenue"] for r in b["rows"]} == {"call": "100.00", "meeting": "100.00", "email": "50.00"}
            and b["total"]["followed"] == 3
        ),
    )
    linear = await settled(
        admin_api,
        "attribution",
        {"model": "linear"},
        lambda b: (
            {r["key"]: r["revenue"] for r in b["rows"]}
            == {"call": "50.00", "meeting": "50.00", "email": "50.00", None: "30.00"}
        ),
    )
    assert linear["unlinked"] == 1

    await ui.sign_in(then=None)
    await ui.nav("Contact effectiveness")
    await expect(ui.heading).to_have_text("Contact effectiveness and attribution")
    await ui.goto(ROUTE)
    await expect(page.get_by_role("tab", name="Contact effectiveness")).to_have_attribute("aria-selected", "true")

    # Effectiveness: the chart and the table are the API's, greatest revenue first (ties by name).
    chart = page.locator(".analytics-chart")
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(DRAWN)
    assert drawn["labels"] == ["Meeting", "Phone call", "E-mail"]
    assert [d["label"] for d in drawn["datasets"]] == ["Revenue, EUR", "Conversion, %"]
    by_name = {KIND_NAMES[r["key"]]: r for r in effectiveness["rows"]}
    assert drawn["datasets"][0]["data"] == [float(by_name[n]["revenue"]) for n in drawn["labels"]]
    assert drawn["datasets"][1]["data"] == [float(by_name[n]["conversion"]) for n in drawn["labels"]]
    rows = page.locator("table.analytics-attribution tbody tr")
    await expect(rows).to_have_count(3)
    for row in effectiveness["rows"]:
        line = page.locator(f"tr[data-key='{row['key']}']")
        await expect(line.locator("th")).to_have_text(KIND_NAMES[row["key"]])
        for column in ("interactions", "followed"):
            await expect(line.locator(f"td[data-column='{column}']")).to_have_text(str(row[column]))
        await expect(line.locator("td[data-column='conversion']")).to_have_text(f"{row['conversion']} %")
        for column in ("revenue", "profit"):
            await expect(line.locator(f"td[data-column='{column}']")).to_have_text(row[column])
    total = page.locator("tfoot tr")
    await expect(total.locator("td[data-column='interactions']")).to_have_text("3")
    await expect(total.locator("td[data-column='revenue']")).to_have_text(effectiveness["total"]["revenue"])
    await expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/analytics/effectiveness.csv?from=1978-01-01&to=1978-12-31&by=kind"
    )

    # Sorting by a column: the same header again turns the order round; kept in the address.
    await page.locator("th button[data-sort='revenue']").click()
    await expect(page.locator("th[aria-sort='ascending'] button")).to_have_attribute("data-sort", "revenue")
    await expect(rows.nth(0)).to_have_attribute("data-key", "email")
    assert "sort=revenue" in page.url
    await page.locator("th button[data-sort='key']").click()
    await expect(rows.nth(0).locator("th")).to_have_text("E-mail")
    await expect(rows.nth(2).locator("th")).to_have_text("Phone call")
    await ui.screenshot("analytics-effectiveness")

    # Attribution, the five models side by side (one request each), each model's credit per kind.
    await page.get_by_role("tab", name="Attribution").click()
    await expect(page.get_by_role("tab", name="Attribution")).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_label("Half-life, days")).to_be_hidden()
    await expect(page.locator("tr[data-no-touch]")).to_have_count(1)
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(DRAWN)
    names = {**KIND_NAMES, None: "No touch"}
    assert drawn["labels"] == ["E-mail", "Meeting", "Phone call", "No touch"]  # by name, no touch last
    assert [d["label"] for d in drawn["datasets"]] == [MODEL_NAMES[m] for m in MODELS]
    for model, dataset in zip(MODELS, drawn["datasets"], strict=True):
        body = (await admin_api.client.get("/api/v1/analytics/attribution", params={**PERIOD, "model": model})).json()
        credited = {names[r["key"]]: float(r["revenue"]) for r in body["rows"]}
        assert dataset["data"] == [credited.get(label, 0) for label in drawn["labels"]], model
        assert sum(credited.values()) == 180.0, model  # every model credits the whole revenue
    first = (await admin_api.client.get("/api/v1/analytics/attribution", params={**PERIOD, "model": "first"})).json()
    assert {r["key"]: r["revenue"] for r in first["rows"] if r["revenue"] != "0.00"} == {
        "call": "100.00",
        "email": "50.00",
        None: "30.00",
    }
    untouched = page.locator("table.analytics-attribution tbody tr").last
    await expect(untouched).to_have_attribute("data-no-touch", "true")
    await expect(untouched.locator("th")).to_have_text("No touch")
    await expect(untouched.locator("td[data-column='revenue']")).to_have_text("30.00")
    no_touch = next(r for r in linear["rows"] if r["no_touch"])
    await expect(untouched.locator("td[data-column='share']")).to_have_text(f"{no_touch['share']} %")
    await expect(page.locator(".analytics-no-touch-note")).to_contain_text(
        "in the 90 days before them or on their day — 1 of them, 1 of customers no counterparty carries"
    )
    await expect(page.locator("tfoot td[data-column='revenue']")).to_have_text("180.00")
    await expect(page.get_by_role("link", name="Download CSV")).to_have_attribute(
        "href", "/api/v1/analytics/attribution.csv?from=1978-01-01&to=1978-12-31&by=kind&model=linear"
    )
    await ui.screenshot("analytics-attribution")

    # Another model (time decay shows its half-life) and grouping by manager: names, not ids.
    await page.get_by_label("Model", exact=True).select_option("time_decay")
    await expect(page.get_by_label("Half-life, days")).to_be_visible()
    await page.get_by_label("Half-life, days").fill("14")
    await page.get_by_label("Group by").select_option("manager")
    await page.get_by_label("Compare every model on the chart").uncheck()
    await page.get_by_role("button", name="Show").click()
    csv_link = page.get_by_role("link", name="Download CSV")
    wanted = "from=1978-01-01&to=1978-12-31&by=manager&model=time_decay&half_life_days=14"
    await expect(csv_link).to_have_attribute("href", f"/api/v1/analytics/attribution.csv?{wanted}")
    decay = (await admin_api.client.get(f"/api/v1/analytics/attribution?{wanted}")).json()
    people = {admin["id"]: admin["name"] or admin["username"], manager["id"]: manager["name"]}
    await expect(page.locator("tbody tr[data-key]")).to_have_count(2)
    for row in decay["rows"]:
        if row["no_touch"]:
            continue
        line = page.locator(f"tr[data-key='{row['key']}']")
        await expect(line.locator("th")).to_have_text(people[row["key"]])
        await expect(line.locator("td[data-column='revenue']")).to_have_text(row["revenue"])
    drawn = await page.evaluate(DRAWN)
    assert [d["label"] for d in drawn["datasets"]] == ["Time decay"]
    assert set(drawn["labels"]) == {*people.values(), "No touch"}
    # The file the link downloads is the same report.
    download = await admin_api.client.get(await csv_link.get_attribute("href"))
    assert download.status_code == 200, download.text
    lines = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert {line["key"]: line["revenue"] for line in lines} == {(r["key"] or ""): r["revenue"] for r in decay["rows"]}
    assert "model=time_decay" in page.url and "compare=0" in page.url

    # The API's refusal lands at the field it names.
    await page.get_by_label("Lookback, days").fill("800")
    await page.get_by_role("button", name="Show").click()
    error = page.locator(".field[data-field='lookback_days'] .field-error")
    await expect(error).to_be_visible()
    await expect(page.get_by_label("Lookback, days")).to_have_attribute("aria-invalid", "true")

    # Grouped by source: the catalog's name, and "No source".
    await ui.goto(f"{ROUTE}&tab=effectiveness&by=source")
    await expect(page.locator(f"tr[data-key='{source}'] th")).to_have_text(f"Fair {tag}")
    await expect(page.locator("tr[data-key=''] th")).to_have_text("No source")

    # From a kind's row to its interactions, and on to the counterparty's card.
    await ui.goto(f"{ROUTE}&tab=effectiveness&by=kind")
    await page.locator("tr[data-key='call'] th a").click()
    await expect(ui.heading).to_have_text("Interactions")
    assert "kind=call" in page.url and "state=completed" in page.url
    await page.get_by_role("link", name=f"Купувач {tag}").first.click()
    await expect(ui.heading).to_have_text(f"Купувач {tag}")
    assert buyer["id"] in page.url

    try:
        await page.locator("#language").select_option("bg")
        await ui.goto(f"{ROUTE}&tab=attribution")
        await expect(ui.heading).to_have_text("Ефективност на контактите и атрибуция")
        await expect(page.get_by_role("tab", name="Атрибуция")).to_have_attribute("aria-selected", "true")
        await expect(page.locator("tr[data-no-touch] th")).to_have_text("Без контакт")
        await expect(page.locator("tr[data-key='call'] th")).to_have_text("Телефонно обаждане")
        await expect(page.get_by_role("link", name="Изтегли CSV")).to_be_visible()
        await expect(page.locator(".analytics-no-touch-note")).to_contain_text("Без контакт: продажби и връщания")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})


async def test_empty_period_and_no_access(ui, page, admin_api, tag, user_password) -> None:
    await ui.sign_in(then=None)
    await ui.goto("/analytics/attribution?from=1976-01-01&to=1976-01-31")
    await expect(page.locator(".analytics-empty")).to_have_text(
        "No completed interactions with counterparties from 1976-01-01 to 1976-01-31"
    )
    await ui.goto("/analytics/attribution?from=1976-01-01&to=1976-01-31&tab=attribution")
    await expect(page.locator(".analytics-empty")).to_contain_text("No sales or returns from 1976-01-01 to 1976-01-31")

    # A user whose roles do not include reading counterparties (none here) has no such page.
    await admin_api.create_user(f"noroles-{tag}", [])
    await ui.page.context.clear_cookies()
    await ui.goto("/sign-in")
    await page.locator("#language").select_option("en")
    await page.get_by_label("Username").fill(f"noroles-{tag}")
    await page.get_by_label("Password").fill(user_password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(ui.heading).not_to_have_text("Sign in")
    await page.locator("#language").select_option("en")
    await ui.goto("/analytics/attribution")
    await expect(ui.heading).to_have_text("Not found")
    await expect(page.get_by_text("There is no such page or record, or you have no access to it.")).to_be_visible()
    await expect(page.get_by_role("navigation").get_by_role("link", name="Contact effectiveness")).to_have_count(0)
