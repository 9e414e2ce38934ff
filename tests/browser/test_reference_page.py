"""The reference-data administration page in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_an_administrator_defines_a_source_with_an_actuality_period_and_retires_it(ui, page, tag) -> None:
    await ui.sign_in()
    await ui.nav("Reference data")
    await expect(ui.heading).to_have_text("Reference data")
    await page.get_by_label("Catalog").select_option("sources")
    await expect(page).to_have_url(re.compile(r"#/reference\?catalog=sources$"))

    await page.get_by_role("button", name="New entry").click()
    code = f"fair-{tag}"
    await page.get_by_label(re.compile(r"^Code")).fill(code)
    await page.get_by_label(re.compile(r"^Name")).fill(f"Панаир {tag}")
    period = page.get_by_label(re.compile(r"^Actuality period"))
    await period.fill("-3")
    await page.get_by_role("button", name="Create").click()
    # The server's refusal is shown next to the field it names.
    await expect(page.locator(".field[data-field='attributes.actuality_days'] .field-error")).to_have_text(
        "Zero or more days."
    )
    await expect(period).to_have_attribute("aria-invalid", "true")
    await period.fill("45")
    await ui.screenshot("reference-new-source")
    await page.get_by_role("button", name="Create").click()

    row = page.locator(f"tr[data-code='{code}']")
    await expect(row).to_contain_text(f"Панаир {tag}")
    await expect(row).to_contain_text("Actuality period: 45 days")
    await expect(row).to_contain_text("Active")
    await ui.screenshot("reference-sources")

    await row.get_by_role("button", name=f"Retire Панаир {tag}").click()
    await expect(row).to_contain_text("Retired")
    await expect(row).to_have_class(re.compile(r"\bmuted\b"))
    await row.get_by_role("button", name=f"Restore Панаир {tag}").click()
    await expect(row).to_contain_text("Active")
    await expect(row).not_to_have_class(re.compile(r"\bmuted\b"))
