"""Back-testing the ABC and the stage/XYZ rules and reading a report "as of" a moment, in a real
browser, each test on a CRM of its own (the rules count every customer with a fact up to a period's
end, so facts of other tests would join the classes).

- The back-test pages, opened from the ABC and the XYZ page: three months of facts sent through the
  API give three periods whose classes (chart and table), kept shares, next period's money by class
  and the movement between two months are the rules', worked out by hand below; the chart switches
  to value; the facts as the CRM knew them at each month's end (none: they were sent today) is the
  empty state; the API's 422 is shown at its field; Bulgarian.
- "As of" on the ABC page: a fact corrected and another sent after the moment are not counted; the
  moment is kept in the address, said above the report, and carried into the CSV and XLSX links
  (the CSV holds the older answer); a moment the API refuses is shown at the field.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from playwright.async_api import Page, expect
from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, Api, CrmProcess, Ui

pytestmark = pytest.mark.browser

# One local-time text of an ISO moment, as a datetime-local input takes it (the browser's time zone).
LOCAL_MOMENT = """(iso) => {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${day}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}"""


def fact(n: str, customer: str, revenue: str, day: str) -> dict[str, str]:
    return {"id": n, "date": day, "customer": customer, "quantity": "1", "revenue": revenue}


async def send(api: Api, *facts: dict[str, str]) -> None:
    answer = await api.client.post("/api/v1/analytics/trade-facts", json={"facts": list(facts)})
    assert answer.status_code == 200, answer.text


async def cells(page: Page, rows: str) -> list[list[str]]:
    """The text of each row's cells (header cell first) of the table rows `rows`."""
    found: list[list[str]] = await page.locator(rows).evaluate_all(
        "(rows) => rows.map((r) => [...r.querySelectorAll('th, td')].map((c) => c.textContent.trim()))"
    )
    return found


async def expect_files(page: Page, url: str, params: dict[str, str]) -> None:
    """The page's CSV and XLSX links go to `url` with `params` among their query (the XLSX with the
    language on screen, English)."""
    for name, suffix in (("Download CSV", ".csv"), ("Download Excel (XLSX)", ".xlsx")):
        href = await page.get_by_role("link", name=name).get_attribute("href")
        assert href is not None
        path, _, query = href.partition("?")
        assert path == url + suffix
        found = dict(parse_qsl(query))
        assert params.items() <= found.items(), found
        assert found.get("lang") == ("en" if suffix == ".xlsx" else None)


async def test_backtest_pages_periods_movement_empty_state_and_422(page: Page, own_crm: CrmProcess, tag: str) -> None:
    api = await Api.sign_in(own_crm.base_url, ADMIN, ADMIN_PASSWORD)
    p, q, r, s, new = (f"{tag}-{name}".upper() for name in "pqrst")
    # Shares 70/20/10, customers ascending by value and accumulated: ≤ 10 % C, ≤ 30 % B, else A.
    # January (1000): S 40, R 60 -> C; Q 200 (30 %) -> B; P 700 -> A.
    # February (1000): S 0, P 100 -> C; R 200 (30 %) -> B; Q 700 -> A.
    # March (1000; T new): P 0, S 0, R 50 -> C; Q 150 (20 %) -> B; T 800 -> A.
    await send(
        api,
        fact(f"{tag}-1", p, "700.00", "1974-01-10"),
        fact(f"{tag}-2", q, "200.00", "1974-01-11"),
        fact(f"{tag}-3", r, "60.00", "1974-01-12"),
        fact(f"{tag}-4", s, "40.00", "1974-01-13"),
        fact(f"{tag}-5", p, "100.00", "1974-02-10"),
        fact(f"{tag}-6", q, "700.00", "1974-02-11"),
        fact(f"{tag}-7", r, "200.00", "1974-02-12"),
        fact(f"{tag}-8", new, "800.00", "1974-03-10"),
        fact(f"{tag}-9", q, "150.00", "1974-03-11"),
        fact(f"{tag}-10", r, "50.00", "1974-03-12"),
        # In a currency with no rate: left out of the values (P is a customer already), and warned of.
        {**fact(f"{tag}-11", p, "999.00", "1974-02-15"), "currency": "USD"},
    )
    await api.close()
    ui = Ui(page, own_crm.base_url)
    await ui.sign_in(then="/analytics/abc?from=1974-01-01&to=1974-03-31")
    await expect(ui.heading).to_have_text("ABC analysis of customers")
    await page.get_by_role("link", name="Back-test this rule over past periods").click()
    await expect(ui.heading).to_have_text("Back-testing the ABC rule")
    form = page.locator("form.analytics-backtest-form")
    await expect(form.get_by_label("Last period holds")).to_have_value("1974-03-31")
    await expect(form.get_by_label("Measure")).to_have_value("revenue")

    # The API's refusal at its field: more periods than it runs.
    await form.get_by_label("Number of periods").fill("40")
    await form.get_by_role("button", name="Run the back-test").click()
    error = form.locator(".field[data-field='periods'] .field-error")
    await expect(error).to_contain_text("36")
    await expect(form.get_by_label("Number of periods")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".analytics-results")).to_be_empty()

    await form.get_by_label("Number of periods").fill("3")
    await form.get_by_role("button", name="Run the back-test").click()
    await expect(error).to_be_hidden()
    await expect(page.locator(".analytics-summary")).to_have_text(
        "3 periods, 1974-01 to 1974-03, each classified with the facts known now"
    )
    chart = page.locator(".analytics-backtest-chart")
    await expect(chart).to_have_attribute("data-drawn", "true")
    drawn = (
        "() => Chart.getChart(document.querySelector('.analytics-backtest-chart canvas'))"
        ".data.datasets.map((d) => [d.label, d.data])"
    )
    assert await page.evaluate(drawn) == [["Class A", [1, 1, 1]], ["Class B", [1, 1, 1]], ["Class C", [2, 2, 3]]]
    assert await cells(page, "table.analytics-backtest-classes tbody tr") == [
        ["1974-01", "1", "700.00", "1", "200.00", "2", "100.00"],
        ["1974-02", "1", "700.00", "1", "200.00", "2", "100.00"],
        ["1974-03", "1", "800.00", "1", "150.00", "3", "50.00"],
    ]
    # Kept their class (of the customers of both months); the next month's money by this month's class.
    assert await cells(page, "table.analytics-backtest-held tbody tr") == [
        ["1974-01", "—", "10.00 %", "70.00 %", "20.00 %", "0.00 %"],
        ["1974-02", "25.00 %", "15.00 %", "5.00 %", "0.00 %", "80.00 %"],
        ["1974-03", "50.00 %", "—", "—", "—", "—"],
    ]
    # The movement into the last month first: Q A -> B, R B -> C, P and S stay C, T new -> A.
    movement = "table.analytics-movement-table tbody tr"
    assert await cells(page, movement) == [
        ["A", "0", "1", "0"],
        ["B", "0", "0", "1"],
        ["C", "0", "0", "2"],
        ["new", "1", "0", "0"],
    ]
    await expect(page.locator(".analytics-backtest-kept")).to_have_text(
        "50.00 % of the customers of both 1974-02 and 1974-03 kept their class."
    )
    await expect(page.locator(".analytics-without-rate")).to_contain_text("USD: 1 (1974-02-15)")
    # The files of the back-test on screen carry its parameters (the workbook the language too).
    rule = {"to": "1974-03-31", "periodicity": "month", "periods": "3", "as_known": "now", "by": "revenue"}
    rule |= {"shares": "70/20/10"}
    await expect_files(page, "/api/v1/analytics/abc/backtest", rule)
    await ui.screenshot("analytics-backtest")
    # January -> February: P A -> C, Q B -> A, R C -> B, S stays C.
    await page.get_by_label("Periods", exact=True).select_option(label="1974-01 → 1974-02")
    await expect(page.locator(".analytics-backtest-kept")).to_have_text(
        "25.00 % of the customers of both 1974-01 and 1974-02 kept their class."
    )
    assert await cells(page, movement) == [
        ["A", "0", "0", "1"],
        ["B", "1", "0", "0"],
        ["C", "0", "1", "1"],
        ["new", "0", "0", "0"],
    ]
    # The chart of value per class; both choices kept in the address.
    await page.get_by_label("The chart shows").select_option("value")
    await expect(chart).to_have_attribute("data-drawn", "true")
    values = [["Class A", [700, 700, 800]], ["Class B", [200, 200, 150]], ["Class C", [100, 100, 50]]]
    assert await page.evaluate(drawn) == values
    assert "chart=value" in page.url and "movement=1974-02-28" in page.url and "periods=3" in page.url
    await page.reload()
    await expect(page.locator(".analytics-backtest-kept")).to_contain_text("1974-01 and 1974-02")
    await expect(page.get_by_label("The chart shows")).to_have_value("value")

    # As the CRM knew them at each month's end: the facts were sent today, so there were none.
    await form.get_by_label("Facts").select_option("then")
    await form.get_by_role("button", name="Run the back-test").click()
    await expect(page.locator(".analytics-empty")).to_contain_text("No customer has trade facts up to 1974-03-31")
    await expect(page.locator(".analytics-summary")).to_contain_text("each classified with what the CRM knew")
    await expect(page.locator(".analytics-backtest-chart")).to_have_count(0)

    # In Bulgarian.
    await form.get_by_label("Facts").select_option("now")
    await form.get_by_role("button", name="Run the back-test").click()
    await expect(page.locator(".analytics-backtest-kept")).to_contain_text("25.00 %")
    await page.locator("#language").select_option("bg")
    await expect(ui.heading).to_have_text("Проверка на ABC правилото върху минали периоди")
    await expect(page.locator(".analytics-backtest-kept")).to_have_text(
        "25,00 % от клиентите и в 1974-01, и в 1974-02 са запазили класа си."
    )
    xlsx = await page.get_by_role("link", name="Изтегли Excel (XLSX)").get_attribute("href")
    assert xlsx is not None and "lang=bg" in xlsx

    # The stage and XYZ rule over the same facts (window of 6 months, regular from 2 active months),
    # evaluated at the end of January, February and March: in January everyone is one-time; from
    # February P, Q and R are regular with values far apart (Z), S stays one-time; T is new in March.
    await page.locator("#language").select_option("en")
    await ui.goto("/analytics/xyz?to=1974-03-31")
    await expect(ui.heading).to_have_text("Relationship stages and XYZ")
    # The report's files: every parameter on the form; the facts without a rate warned of.
    await expect(page.locator(".xyz-rows")).to_be_visible()
    await expect(page.locator(".analytics-without-rate")).to_contain_text("USD: 1 (1974-02-15)")
    await expect_files(page, "/api/v1/analytics/xyz", {"to": "1974-03-31", "periodicity": "month", "periods": "6"})
    await page.get_by_role("link", name="Back-test this rule over past periods").click()
    await expect(ui.heading).to_have_text("Back-testing the stage and XYZ rule")
    form = page.locator("form.analytics-backtest-form")
    await expect(form.get_by_label("Last period holds")).to_have_value("1974-03-31")
    await expect(form.get_by_label("Regular from active periods")).to_have_value("2")
    await form.get_by_label("Number of evaluations").fill("3")
    await form.get_by_role("button", name="Run the back-test").click()
    await expect(page.locator(".analytics-summary")).to_have_text(
        "3 evaluations, 1974-01 to 1974-03, each with the facts known now"
    )
    await expect(page.locator(".analytics-backtest-chart")).to_have_attribute("data-drawn", "true")
    assert await page.evaluate(drawn) == [
        ["Potential", [0, 0, 0]],
        ["One-time", [4, 1, 2]],
        ["Class X", [0, 0, 0]],
        ["Class Y", [0, 0, 0]],
        ["Class Z", [0, 3, 3]],
        ["Lost", [0, 0, 0]],
    ]
    # February's window value: Z (P 800, Q 900, R 260) and one-time S 40; March's: Z 2160, one-time
    # 840 (S 40, T 800) of 3000, so February's Z customers brought 72 %, S 1.33 % and T, new, 26.67 %.
    assert await cells(page, "table.analytics-backtest-held tbody tr") == [
        ["1974-01", "—", "0.00 %", "100.00 %", "0.00 %", "0.00 %", "0.00 %", "0.00 %", "0.00 %"],
        ["1974-02", "25.00 %", "0.00 %", "1.33 %", "0.00 %", "0.00 %", "72.00 %", "0.00 %", "26.67 %"],
        ["1974-03", "100.00 %", "—", "—", "—", "—", "—", "—", "—"],
    ]
    zeros = ["0"] * 6
    assert await cells(page, movement) == [
        ["Potential", *zeros],
        ["One-time", "0", "1", "0", "0", "0", "0"],
        ["X", *zeros],
        ["Y", *zeros],
        ["Z", "0", "0", "0", "0", "3", "0"],
        ["Lost", *zeros],
        ["new", "0", "1", "0", "0", "0", "0"],
    ]
    await expect(page.locator(".analytics-backtest-kept")).to_have_text(
        "100.00 % of the customers of both 1974-02 and 1974-03 kept their standing."
    )
    await ui.screenshot("analytics-backtest-xyz")
    assert "runs=3" in page.url and "regular_periods=2" in page.url
    await expect(page.locator(".analytics-without-rate")).to_contain_text("USD: 1 (1974-02-15)")
    await expect_files(page, "/api/v1/analytics/xyz/backtest", {"to": "1974-03-31", "step": "month", "runs": "3"})


async def test_report_as_of_a_moment_leaves_out_what_came_later(
    page: Page, own_crm: CrmProcess, tag: str, tmp_path: Path
) -> None:
    api = await Api.sign_in(own_crm.base_url, ADMIN, ADMIN_PASSWORD)
    old, late = f"OLD-{tag}".upper(), f"LATE-{tag}".upper()
    await send(api, fact(f"{tag}-a", old, "100.00", "1973-05-01"))
    await asyncio.sleep(1.1)
    moment = datetime.now(UTC).replace(microsecond=0)
    await asyncio.sleep(1.1)
    # After the moment: the fact corrected, and a customer's first fact.
    await send(api, fact(f"{tag}-a", old, "900.00", "1973-05-01"), fact(f"{tag}-b", late, "300.00", "1973-05-02"))
    await api.close()

    ui = Ui(page, own_crm.base_url)
    await ui.sign_in(then="/analytics/abc?from=1973-01-01&to=1973-12-31")
    summary = page.locator(".analytics-summary")
    await expect(summary).to_have_text("2 customers, total 1,200.00 EUR")
    await expect(page.locator(".analytics-as-of")).to_have_count(0)

    form = page.locator("form.analytics-form")
    as_of = form.get_by_label("As the CRM knew it at")
    await as_of.fill(await page.evaluate(LOCAL_MOMENT, moment.isoformat()))
    await form.get_by_role("button", name="Show").click()
    await expect(summary).to_have_text("1 customers, total 100.00 EUR")
    rows = page.locator("table.analytics-rows tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.nth(0).locator("td").nth(1)).to_have_text(old)
    await expect(rows.nth(0).locator("td").nth(4)).to_have_text("100.00")
    iso = moment.isoformat().replace("+00:00", ".000Z")
    note = page.locator(".analytics-as-of")
    await expect(note).to_have_attribute("data-as-of", iso)
    await expect(note).to_contain_text("As the CRM knew it at")
    assert f"as_of={iso.replace(':', '%3A')}" in page.url

    # The files carry the moment: the CSV is the older answer.
    query = f"from=1973-01-01&to=1973-12-31&by=revenue&shares=70%2F20%2F10&as_of={iso.replace(':', '%3A')}"
    csv_link = page.get_by_role("link", name="Download CSV")
    await expect(csv_link).to_have_attribute(
        "href",
        f"/api/v1/analytics/abc.csv?{query}",
    )
    await expect(page.get_by_role("link", name="Download Excel (XLSX)")).to_have_attribute(
        "href",
        f"/api/v1/analytics/abc.xlsx?{query}&lang=en",
    )
    async with page.expect_download() as download:
        await csv_link.click()
    saved = tmp_path / "abc.csv"
    await (await download.value).save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert [line[1:4] for line in lines[1:]] == [[old, "", "100.00"]]

    # Kept in the address: a reload reads the same moment again.
    await page.reload()
    await expect(summary).to_have_text("1 customers, total 100.00 EUR")
    await expect(form.get_by_label("As the CRM knew it at")).to_have_value(
        await page.evaluate(LOCAL_MOMENT, moment.isoformat())
    )

    # A moment the API refuses is shown at the field.
    await form.get_by_label("As the CRM knew it at").fill("1960-01-01T00:00:00")
    await form.get_by_role("button", name="Show").click()
    await expect(form.locator(".field[data-field='as_of'] .field-error")).to_contain_text("1970")
    await expect(form.get_by_label("As the CRM knew it at")).to_have_attribute("aria-invalid", "true")
