"""ABC classification runs and the stages/XYZ page in a real browser.

Runs: on a CRM of the test's own (a run classifies every customer with a fact up to its end, so the
session's other facts would change the counts), facts sent through the API; a run started in the form,
previewed, confirmed; a second month with changed facts and its run, whose movement between classes
(chart and table), previous classes and ↑/↓/new markers are checked against the classes worked out
by hand; filters by movement; an override that needs a reason (the API's 422 shown at the field) and
moves its customer; the class history; the counterparty card from a linked customer; a marketer
(analytics:read without analytics:classify) sees the runs but no Start nor Confirm.

Stages/XYZ: on the session's CRM, facts dated 2140 (after every other test's), the page's stage and
class tables and charts are the API's answer for the same parameters."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, PASSWORD, Api, CrmProcess, Ui

pytestmark = pytest.mark.browser

SHARES = ("65", "25", "10")


def fact(n: str, customer: str, revenue: str, day: str) -> dict[str, str]:
    return {"id": n, "date": day, "customer": customer, "quantity": "1", "revenue": revenue}


async def send(api: Api, facts: list[dict[str, str]]) -> None:
    answer = await api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert answer.status_code == 200, answer.text


async def start_run(page: Page, start: str, end: str) -> None:
    form = page.locator("form.analytics-run-form")
    await form.get_by_label("Period").select_option(label="Other dates")
    await form.locator(".field[data-field='from'] input").fill(start)
    await form.locator(".field[data-field='to'] input").fill(end)
    for c, share in zip("ABC", SHARES, strict=True):
        await form.get_by_label(f"Share of class {c}, %").fill(share)
    await form.get_by_role("button", name="Create and preview").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"ABC run {start} – {end}")


async def movement_table(page: Page) -> list[list[str]]:
    rows = page.locator("table.analytics-movement-table tbody tr")
    await expect(rows).to_have_count(4)
    return [await rows.nth(i).locator("th, td").all_inner_texts() for i in range(4)]


def row_of(page: Page, customer: str) -> Any:
    return page.locator(f"table.analytics-run-rows-table tbody tr[data-customer='{customer}']")


async def test_runs_preview_confirm_movement_override_and_roles(
    page: Page, own_crm: CrmProcess, open_ui: Any, tag: str
) -> None:
    api = await Api.sign_in(own_crm.base_url, ADMIN, ADMIN_PASSWORD)
    p, q, r, s, t = (f"{name}-{tag}".upper() for name in "PQRST")
    linked = await api.create_counterparty(f"Клиент П {tag}", external_codes=[{"code": p}])
    await send(
        api,
        [
            fact(f"{tag}-1", p, "700.00", "1972-01-05"),
            fact(f"{tag}-2", q, "200.00", "1972-01-10"),
            fact(f"{tag}-3", r, "60.00", "1972-01-15"),
            fact(f"{tag}-4", s, "40.00", "1972-01-20"),
        ],
    )
    ui = Ui(page, own_crm.base_url)
    await ui.sign_in(then=None)
    await ui.nav("ABC runs")
    await expect(ui.heading).to_have_text("ABC classification runs")
    await expect(page.locator(".analytics-run-list .empty")).to_contain_text("No runs yet — start one.")

    # January, 65/25/10: S 4 % and R 10 % cumulative are C, Q 30 % is B, P is A; everyone is new.
    await start_run(page, "1972-01-01", "1972-01-31")
    await expect(page.locator(".analytics-run-facts")).to_contain_text("Draft")
    classes = page.locator("table.analytics-classes tbody tr")
    await expect(classes.nth(0).locator("th, td")).to_have_text(["A", "1", "700.00", "70.00 %"])
    await expect(classes.nth(2).locator("th, td")).to_have_text(["C", "2", "100.00", "10.00 %"])
    await expect(page.locator(".analytics-chart")).to_have_attribute("data-drawn", "true")
    await expect(page.locator("table.analytics-run-rows-table tbody tr")).to_have_count(4)
    await expect(row_of(page, q).locator("td").nth(5)).to_have_text("B")
    await expect(row_of(page, q).locator("td").nth(7)).to_have_text("new")
    assert await movement_table(page) == [
        ["A", "0", "0", "0"],
        ["B", "0", "0", "0"],
        ["C", "0", "0", "0"],
        ["new", "1", "1", "2"],
    ]
    await ui.screenshot("analytics-run-preview")
    await page.get_by_role("button", name="Confirm the run").click()
    await expect(page.locator(".analytics-run-facts")).to_contain_text("Confirmed")
    await expect(page.get_by_role("button", name="Confirm the run")).to_have_count(0)
    await expect(page.locator("table.analytics-run-rows-table tbody tr")).to_have_count(4)

    # February's facts change the order: P 100, Q 600, R none, S 200, and T buys for the first time.
    # 65/25/10 of 1000: R 0 % and P 10 % are C, T 20 % is B, S and Q are A.
    await send(
        api,
        [
            fact(f"{tag}-5", p, "100.00", "1972-02-03"),
            fact(f"{tag}-6", q, "600.00", "1972-02-04"),
            fact(f"{tag}-7", s, "200.00", "1972-02-05"),
            fact(f"{tag}-8", t, "100.00", "1972-02-06"),
        ],
    )
    await page.get_by_role("link", name="← All runs").click()
    await expect(page.locator("table.analytics-run-table tbody tr")).to_have_count(1)
    await start_run(page, "1972-02-01", "1972-02-29")
    await page.get_by_role("button", name="Confirm the run").click()
    await expect(page.locator(".analytics-run-facts")).to_contain_text("Confirmed")
    # Rows: previous class A (P → C), B (Q → A), C (R → C, S → A), new (T → B); columns A, B, C.
    expected = [["A", "0", "0", "1"], ["B", "1", "0", "0"], ["C", "1", "0", "1"], ["new", "0", "1", "0"]]
    assert await movement_table(page) == expected
    await expect(page.locator(".analytics-movement-chart")).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(
        "() => Chart.getChart(document.querySelector('.analytics-movement-chart canvas')).data.datasets"
        ".map((d) => d.data)"
    )
    assert drawn == [[0, 1, 1, 0], [0, 0, 0, 1], [1, 0, 1, 0]]  # per class now, over A, B, C, new
    await expect(row_of(page, p).locator("td").nth(6)).to_have_text("A")
    await expect(row_of(page, p).locator("td").nth(7)).to_contain_text("↓")
    await expect(row_of(page, q).locator("td").nth(7)).to_contain_text("↑")
    await expect(row_of(page, t).locator("td").nth(7)).to_have_text("new")
    await ui.screenshot("analytics-run-movement")

    # Filter by movement: those that went up.
    await page.get_by_label("Movement", exact=True).select_option(label="up")
    rows = page.locator("table.analytics-run-rows-table tbody tr")
    await expect(rows).to_have_count(2)
    assert sorted(await rows.evaluate_all("(trs) => trs.map((tr) => tr.dataset.customer)")) == sorted([q, s])
    await page.get_by_label("Movement", exact=True).select_option(label="Any movement")
    await expect(rows).to_have_count(5)

    # Override R's class: the reason is required, and the API's refusal shows at its field.
    await row_of(page, r).get_by_role("button", name="Change class").click()
    override = page.locator("form.analytics-override")
    await override.get_by_label("Class").select_option(label="Class B")
    await override.get_by_role("button", name="Save").click()
    reason = override.locator(".field[data-field='reason']")
    await expect(reason.locator(".field-error")).to_have_text("Say why the class is set by hand.")
    await expect(reason.locator("textarea")).to_have_attribute("aria-invalid", "true")
    await reason.locator("textarea").fill("key account")
    await override.get_by_role("button", name="Save").click()
    await expect(row_of(page, r).locator("td").nth(5)).to_have_text("B (computed C)")
    await expect(row_of(page, r).locator("td").nth(7)).to_contain_text("↑")
    expected[2] = ["C", "1", "1", "0"]
    assert await movement_table(page) == expected

    # R's history of classes, oldest first, with the reason of the override.
    await row_of(page, r).get_by_role("button", name=r).click()
    history = page.locator("table.analytics-history-table tbody tr")
    await expect(history).to_have_count(2)
    await expect(history.nth(0).locator("td")).to_have_text(["1972-01-01 – 1972-01-31", "C", "—", "new", ""])
    await expect(history.nth(1).locator("td").nth(1)).to_have_text("B (computed C)")
    await expect(history.nth(1).locator("td").nth(4)).to_have_text("key account")

    # P is linked to a counterparty: its name leads to the card.
    link = row_of(page, p).locator("td").nth(2).get_by_role("link")
    await expect(link).to_have_text(f"Клиент П {tag}")
    await link.click()
    await expect(ui.heading).to_contain_text(f"Клиент П {tag}")
    assert f"#/counterparties/{linked['id']}" in page.url

    # A marketer reads the runs but neither starts nor confirms one.
    draft = await api.client.post("/api/v1/analytics/abc/runs", json={"from": "1972-03-01", "to": "1972-03-31"})
    assert draft.status_code == 201, draft.text
    await api.create_user(f"runs-mk-{tag}", ["marketer"], ["general"])
    marketer = await open_ui(own_crm.base_url)
    await marketer.sign_in(f"runs-mk-{tag}", PASSWORD, then=None)
    await marketer.nav("ABC runs")
    await expect(marketer.page.locator("table.analytics-run-table tbody tr")).to_have_count(3)
    await expect(marketer.page.locator("form.analytics-run-form")).to_have_count(0)
    await marketer.page.locator("tr[data-status='draft'] a").click()
    await expect(marketer.heading).to_have_text("ABC run 1972-03-01 – 1972-03-31")
    await expect(marketer.page.locator(".analytics-run-facts")).to_contain_text("Draft")
    await expect(marketer.page.get_by_text("This run is a draft.")).to_be_visible()
    await expect(marketer.page.get_by_role("button", name="Confirm the run")).to_have_count(0)
    await marketer.goto("/analytics/runs")
    await marketer.page.locator("tr[data-status='confirmed'] a").first.click()
    await expect(marketer.page.locator("table.analytics-run-rows-table tbody tr").first).to_be_visible()
    await expect(marketer.page.get_by_role("button", name="Change class")).to_have_count(0)
    await api.close()


async def test_xyz_page_shows_the_stages_and_classes_the_api_answers(ui, page, admin_api, tag) -> None:
    # "0-…" sorts before the session's other customers: the page's first 50 rows (code order) hold them.
    steady, wobbly, once = (f"0-XYZ-{name}-{tag}".upper() for name in ("steady", "wobbly", "once"))
    facts = [fact(f"{tag}-x{m}", steady, "100.00", f"2140-{m:02d}-10") for m in range(1, 7)]
    facts += [fact(f"{tag}-w1", wobbly, "10.00", "2140-02-01"), fact(f"{tag}-w2", wobbly, "990.00", "2140-05-01")]
    facts += [fact(f"{tag}-o1", once, "50.00", "2140-03-03")]
    await send(admin_api, facts)
    params = {"to": "2140-06-30", "periodicity": "month", "periods": "6", "by": "revenue"}
    answer = await admin_api.client.get("/api/v1/analytics/xyz", params={**params, "limit": "1000"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    mine = {row["customer"]: (row["stage"], row["class"]) for row in body["rows"]}
    assert (mine[steady], mine[wobbly], mine[once]) == (("regular", "X"), ("regular", "Z"), ("one-time", None))

    await ui.sign_in(then=None)
    await ui.nav("Stages and XYZ")
    await expect(ui.heading).to_have_text("Relationship stages and XYZ")
    form = page.locator("form.xyz-form")
    await expect(form.get_by_label("Periods of")).to_have_value("month")
    # A band the API refuses is shown at its field.
    await form.locator(".field[data-field='to'] input").fill("2140-06-30")
    await form.get_by_label("X up to, %").fill("30")
    await form.get_by_role("button", name="Show").click()
    await expect(form.locator(".field[data-field='y'] .field-error")).to_be_visible()
    await form.get_by_label("X up to, %").fill("10")
    await form.get_by_role("button", name="Show").click()

    stages = page.locator("table.xyz-stage-table tbody tr")
    await expect(stages).to_have_count(4)
    for i, stage in enumerate(("potential", "one-time", "regular", "lost")):
        await expect(stages.nth(i).locator("td")).to_have_text(str(body["stages"][stage]))
    classes = page.locator("table.xyz-class-table tbody tr")
    for i, c in enumerate("XYZ"):
        await expect(classes.nth(i).locator("td")).to_have_text(str(body["classes"][c]))
    await expect(page.locator(".xyz-chart-stages")).to_have_attribute("data-drawn", "true")
    drawn = await page.evaluate(
        "() => Chart.getChart(document.querySelector('.xyz-chart-stages canvas')).data.datasets[0].data"
    )
    assert drawn == [body["stages"][s] for s in ("potential", "one-time", "regular", "lost")]
    row = page.locator(f"table.xyz-rows tbody tr[data-customer='{steady}']")
    await expect(row.locator("td").nth(2)).to_have_text("Regular")
    await expect(row.locator("td").nth(3)).to_have_text("X")
    await expect(page.locator(f"table.xyz-rows tbody tr[data-customer='{once}'] td").nth(2)).to_have_text("One-time")
    assert "to=2140-06-30" in page.url
    await ui.screenshot("analytics-xyz")

    await page.locator("#language").select_option("bg")
    await expect(row.locator("td").nth(2)).to_have_text("Постоянен")
