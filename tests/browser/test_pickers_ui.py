"""Pickers search as you type (no Enter) and people are shown and chosen by name, never by id: the
counterparty and participant pickers of an interaction, the manager on a counterparty's card and in the
register's column and filter."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_pick_a_counterparty_and_colleagues_by_typing_and_see_names_everywhere(ui, page, admin_api, tag) -> None:
    me = (await admin_api.get("/api/v1/me")).json()
    colleague = await admin_api.create_user(f"kolega-{tag}", ["sales_manager"], ["general"])
    made: dict[str, Any] = await admin_api.create_counterparty(
        f"Избор {tag} ООД", main_manager=colleague["id"], managers=[me["id"]]
    )
    await admin_api.wait_for_interactions_to_know(made["id"])

    await ui.sign_in(then="/interactions/new")
    await expect(ui.heading).to_have_text("Plan an interaction")
    # The responsible user is the author, by name.
    responsible = page.locator(".field[data-field='responsible'] .picker-chip")
    await expect(responsible).to_have_text(f"{me['name']}×")

    # Typing alone brings the options; the keyboard picks one.
    box = page.get_by_role("combobox", name="Counterparty")
    await box.press_sequentially(f"Избор {tag}", delay=20)
    option = page.get_by_role("option", name=f"Избор {tag} ООД")
    await expect(option).to_be_visible()
    await box.press("ArrowDown")
    await expect(option).to_have_attribute("aria-selected", "true")
    await box.press("Enter")
    await expect(page.locator(".field[data-field='counterparty_id'] .ia-picker-chosen")).to_have_text(made["name"])
    await expect(ui.heading).to_have_text("Plan an interaction")  # Enter picked; it did not submit

    participants = page.get_by_role("combobox", name="Participants")
    await participants.fill(f"kolega-{tag}")
    await page.get_by_role("option", name=f"kolega-{tag}").first.click()
    await expect(page.locator(".field[data-field='participants'] .picker-chip")).to_have_text(f"kolega-{tag}×")
    await page.get_by_label("Subject").fill(f"With a colleague {tag}")
    await page.get_by_role("button", name="Plan", exact=True).click()

    await expect(ui.heading).to_have_text(f"With a colleague {tag}")
    await expect(page.locator("dd[data-fact='ia.field.participants']")).to_have_text(f"kolega-{tag}")
    await expect(page.locator("dd[data-fact='ia.field.responsible']")).to_have_text(me["name"])
    await ui.screenshot("pickers-interaction")

    # The counterparty's managers by name, on its card and in the register, which filters by a picked manager.
    await ui.goto(f"/counterparties/{made['id']}")
    await expect(page.locator(".facts")).to_contain_text(f"kolega-{tag}")
    await expect(page.locator(".facts")).not_to_contain_text(colleague["id"])
    await ui.goto("/counterparties")
    manager = page.get_by_role("combobox", name="Manager")
    await manager.press_sequentially(f"kolega-{tag}", delay=20)
    await page.get_by_role("option", name=f"kolega-{tag}").first.click()
    row = page.locator("tbody tr").filter(has_text=f"Избор {tag} ООД")
    await expect(row).to_contain_text(f"kolega-{tag}")
    await expect(page.locator("tbody tr")).to_have_count(1)
    assert f"manager={colleague['id']}" in page.url, page.url
