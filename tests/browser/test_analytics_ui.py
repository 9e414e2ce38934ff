"""Analytics pages in a real browser: the ABC analysis over facts the test records through the API (the
parameters, the shares checked at their field, the class chart drawn by the vendored Chart.js under the
unchanged strict CSP, the customers, CSV and XLSX of the report), the pages hidden from roles without
their permission, and the import of trade facts from a CSV file with a bad row.

The CRM is shared by the session and the ABC report counts every customer with a fact dated up to its
end, so each test dates its facts in a year of its own (1975: the ABC test; 1980: the import)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Every CSP violation in the page, recorded before any of its scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def fact(n: str, customer: str, revenue: str, day: str) -> dict[str, str]:
    return {"id": n, "date": day, "customer": customer, "quantity": "1", "revenue": revenue}


async def test_abc_analysis_draws_the_classes_and_lists_the_customers(
    ui, page, crm, admin_api, tag, tmp_path: Path
) -> None:
    big, mid, small, least = (f"{tag}-{name}".upper() for name in ("big", "mid", "small", "least"))
    facts = [
        fact(f"{tag}-1", big, "500.00", "1975-03-01"),
        fact(f"{tag}-2", big, "200.00", "1975-06-30"),
        fact(f"{tag}-3", mid, "200.00", "1975-04-15"),
        fact(f"{tag}-4", small, "60.00", "1975-05-05"),
        fact(f"{tag}-5", least, "40.00", "1975-12-31"),
    ]
    answer = await admin_api.client.post("/api/v1/analytics/trade-facts", json={"facts": facts})
    assert answer.status_code == 200, answer.text
    # The strict CSP, as it was: Chart.js must draw without any exception to it.
    assert (await admin_api.client.get("/")).headers["content-security-policy"] == CSP
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    await page.add_init_script(RECORD_VIOLATIONS)

    await ui.sign_in(then=None)
    await ui.nav("ABC analysis")
    await expect(ui.heading).to_have_text("ABC analysis of customers")
    form = page.locator("form.analytics-form")
    await expect(form.get_by_label("Measure")).to_have_value("revenue")
    await form.get_by_label("Period").select_option(label="Other dates")
    await form.locator(".field[data-field='from'] input").fill("1975-01-01")
    await form.locator(".field[data-field='to'] input").fill("1975-12-31")

    # Shares that do not sum to 100 are shown at their field as they are typed, and nothing is asked.
    shares = page.locator(".field[data-field='shares']")
    await shares.get_by_label("Share of class C, %").fill("20")
    error = shares.locator(".field-error")
    await expect(error).to_have_text("The shares must sum to 100; now they sum to 110.00.")
    await expect(shares.get_by_label("Share of class C, %")).to_have_attribute("aria-invalid", "true")
    await form.get_by_role("button", name="Show").click()
    await expect(error).to_be_visible()
    await expect(page.locator(".analytics-results")).to_be_empty()
    await ui.screenshot("analytics-abc-shares")
    await shares.get_by_label("Share of class C, %").fill("10")
    await expect(error).to_be_hidden()
    await form.get_by_role("button", name="Show").click()

    # The class distribution: a chart drawn by Chart.js, and the same numbers as a table.
    await expect(page.locator(".analytics-summary")).to_have_text("4 customers, total 1,000.00 EUR")
    chart = page.locator(".analytics-chart")
    await expect(chart).to_have_attribute("data-drawn", "true")
    canvas = chart.locator("canvas")
    await expect(canvas).to_have_attribute("aria-label", "Customers and value per class")
    box = await canvas.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 100
    classes = page.locator("table.analytics-classes tbody tr")
    await expect(classes).to_have_count(3)
    await expect(classes.nth(0).locator("th, td")).to_have_text(["A", "1", "700.00", "70.00 %"])
    await expect(classes.nth(1).locator("th, td")).to_have_text(["B", "1", "200.00", "20.00 %"])
    await expect(classes.nth(2).locator("th, td")).to_have_text(["C", "2", "100.00", "10.00 %"])
    drawn = await page.evaluate(
        "() => { const c = Chart.getChart(document.querySelector('.analytics-chart canvas'));"
        " return c.data.datasets.map((d) => d.data); }"
    )
    assert drawn == [[1, 1, 2], [700, 200, 100]]

    # The customers in place order, with their value, shares and class.
    rows = page.locator("table.analytics-rows tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.nth(0).locator("td")).to_have_text(
        ["1", big, "not linked", "—", "700.00", "70.00 %", "100.0000 %", "A"]
    )
    await expect(rows.nth(1).locator("td")).to_have_text(
        ["2", mid, "not linked", "—", "200.00", "20.00 %", "30.0000 %", "B"]
    )
    await expect(rows.nth(3).locator("td").nth(1)).to_have_text(least)
    await expect(rows.nth(3).locator("td").nth(7)).to_have_text("C")
    await expect(page.locator(".analytics-pager")).to_contain_text("1–4 of 4")
    assert "shares=70%2F20%2F10" in page.url and "from=1975-01-01" in page.url
    await ui.screenshot("analytics-abc")

    # The report as files, with the parameters on screen.
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "abc.csv"
    await (await download.value).save_as(saved)
    lines = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert lines[1] == ["1", big, "", "700.00", "70.0000", "1000.00", "100.0000", "A"]
    assert len(lines) == 5
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Download Excel (XLSX)").click()
    assert (await download.value).suggested_filename == "abc-1975-01-01-1975-12-31-revenue.xlsx"
    workbook = tmp_path / "abc.xlsx"
    await (await download.value).save_as(workbook)
    assert "xl/worksheets/sheet1.xml" in zipfile.ZipFile(workbook).namelist()

    # Another measure answers from the server; a language switch redraws the report in Bulgarian.
    await page.locator("#language").select_option("bg")
    await expect(page.locator(".analytics-summary")).to_have_text("4 клиента, общо 1 000,00 EUR")
    await expect(rows.nth(0).locator("td").nth(4)).to_have_text("700,00")
    await expect(page.locator(".analytics-chart")).to_have_attribute("data-drawn", "true")
    assert await page.evaluate("() => window.__cspViolations") == []
    assert not refused, refused


async def test_the_pages_follow_the_permissions(ui, crm, admin_api, open_ui, tag, user_password) -> None:
    await admin_api.create_user(f"abc-sm-{tag}", ["sales_manager"], ["general"])
    await admin_api.create_user(f"abc-mk-{tag}", ["marketer"], ["general"])
    seller = await open_ui(crm.base_url)
    await seller.sign_in(f"abc-sm-{tag}", user_password, then=None)
    nav = seller.page.locator("#nav")
    await expect(nav.locator("a[data-path='/counterparties']")).to_have_count(1)
    # A sales manager reads the reports over their access groups' customers: no runs, no import.
    shown = await nav.locator("a[data-path^='/analytics/']").evaluate_all("(links) => links.map((a) => a.dataset.path)")
    assert sorted(shown) == sorted(
        ["/analytics/abc", "/analytics/xyz", "/analytics/sources", "/analytics/attribution", "/analytics/managers"]
    )
    await seller.goto("/analytics/runs")
    await expect(seller.heading).to_have_text("Not found")
    await seller.goto("/analytics/import")
    await expect(seller.heading).to_have_text("Not found")
    # A marketer reads the report but sends no facts.
    marketer = await open_ui(crm.base_url)
    await marketer.sign_in(f"abc-mk-{tag}", user_password, then=None)
    await marketer.nav("ABC analysis")
    await expect(marketer.heading).to_have_text("ABC analysis of customers")
    await expect(marketer.page.locator("#nav a[data-path='/analytics/import']")).to_have_count(0)


async def test_import_trade_facts_with_a_bad_row(ui, page, admin_api, tag, tmp_path: Path) -> None:
    customer = f"IMP-{tag}".upper()
    file = tmp_path / f"facts-{tag}.csv"
    file.write_text(
        "id;date;customer;quantity;revenue\n"
        f"{tag}-i1;1980-02-01;{customer};1;100.50\n"
        f"{tag}-i2;1980-02-02;{customer};2;12.345\n"
        f"{tag}-i3;1980-02-03;{customer};1;10\n",
        encoding="utf-8",
    )
    await ui.sign_in(then=None)
    await ui.nav("Trade facts")
    await expect(ui.heading).to_have_text("Import trade facts")
    await page.get_by_label("CSV file").set_input_files(str(file))
    await page.get_by_role("button", name="Import").click()

    await expect(page.locator(".job-state")).to_have_text("Done")
    await expect(page.locator(".job-counts")).to_have_text("3 of 3 rows: 2 recorded, 1 rejected")
    rejected = page.locator("table.rejected-rows tbody tr")
    await expect(rejected).to_have_count(1)
    cells = rejected.locator("td")
    await expect(cells.nth(0)).to_have_text("3")
    await expect(cells.nth(1)).to_have_text("revenue")
    await expect(cells.nth(2)).not_to_be_empty()
    await expect(cells.nth(3)).to_have_text(f"{tag}-i2")
    await expect(page.get_by_role("link", name="Download the report")).to_be_visible()
    await expect(page.locator(".recent-jobs tbody tr").first).to_contain_text("Done")
    await ui.screenshot("analytics-import")
    answer = await admin_api.client.get(
        "/api/v1/analytics/abc", params={"from": "1980-01-01", "to": "1980-12-31", "limit": 1000}
    )
    mine = [row for row in answer.json()["rows"] if row["customer"] == customer]
    assert [row["value"] for row in mine] == ["110.50"]
