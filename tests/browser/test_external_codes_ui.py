"""External codes (the ERP's customer code) in the counterparty pages: edited in the form, refused next
to their row when another counterparty has the code, shown on the card and the list, found by the
search box."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_edit_show_and_find_external_codes(ui, page, admin_api, tag) -> None:
    await admin_api.create_counterparty(f"Държател {tag}", external_codes=[{"code": f"HELD-{tag}"}])
    made = await admin_api.create_counterparty(f"Кодове {tag}", external_codes=[{"code": f"C-{tag}"}])
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/edit")
    codes = page.locator(".cp-code-row")
    await expect(codes).to_have_count(1)
    await expect(codes.first.get_by_label("Code")).to_have_value(f"C-{tag}")
    await expect(codes.first.get_by_label("System")).to_have_value("erp")

    await page.get_by_role("button", name="Add a code").click()
    await codes.nth(1).get_by_label("Code").fill(f"HELD-{tag}")
    await page.get_by_role("button", name="Save").click()
    error = page.locator('.field[data-field="external_codes[1].code"] .field-error')
    await expect(error).to_be_visible()
    await ui.screenshot("counterparty-external-code-taken")

    await codes.nth(1).get_by_label("System").fill("sap")
    await codes.nth(1).get_by_label("Code").fill(f"S-{tag}")
    await page.get_by_role("button", name="Save").click()
    await expect(ui.heading).to_have_text(f"Кодове {tag}")
    await expect(page.locator("dl.facts")).to_contain_text(f"C-{tag}, sap: S-{tag}")
    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert stored["external_codes"] == [{"system": "erp", "code": f"C-{tag}"}, {"system": "sap", "code": f"S-{tag}"}]

    await ui.goto(f"/counterparties?q=S-{tag}")
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"Кодове {tag}")
    await expect(rows.first.locator("td.cp-codes")).to_have_text(f"C-{tag}, sap: S-{tag}")

    await ui.goto(f"/counterparties/{made['id']}/history")
    newest = page.locator("table.cp-history tbody tr").first  # newest first
    await expect(newest).to_contain_text("ERP codes changed")
    await expect(newest.locator('li[data-change="external_codes"]')).to_have_text(f"ERP codes: C-{tag}, sap: S-{tag}")

    await ui.goto(f"/counterparties/{made['id']}")
    try:
        await page.locator("#language").select_option("bg")
        await expect(page.locator('dd[data-fact="cp.field.external_codes"]')).to_have_text(f"C-{tag}, sap: S-{tag}")
        await expect(page.locator("dl.facts")).to_contain_text("Кодове в ERP")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})
