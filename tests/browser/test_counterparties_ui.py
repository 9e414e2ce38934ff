"""The counterparty pages in a real browser: sign-in, create, find, edit, conflicts, languages.
The card's tabs and the new fields are in test_counterparty_card.py."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_sign_in_as_admin_and_out(ui, page) -> None:
    await ui.goto("/counterparties")
    await expect(page).to_have_url(re.compile(r"#/sign-in\?next=%2Fcounterparties$"))
    await page.locator("#language").select_option("en")
    await ui.screenshot("sign-in-en")

    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    await ui.screenshot("sign-in-wrong-password")

    await ui.sign_in()
    await expect(page.locator("#user-name")).to_have_text("Administrator")
    # The administrator's pages are in the header: in its row, or under "More pages" when the row is full
    # (test_my_day_ui checks the folding).
    users = page.locator("#nav a, #nav-more-menu a").filter(has_text=re.compile(r"^Users$"))
    await expect(users.first).to_have_attribute("href", re.compile(r"/users$"))

    await page.get_by_role("button", name="Sign out").click()
    await expect(ui.heading).to_have_text("Sign in")
    await ui.goto("/counterparties")  # the session is gone: back to sign-in
    await expect(ui.heading).to_have_text("Sign in")


async def test_create_a_counterparty_and_see_it(ui, page, admin_api, tag) -> None:
    ivan = await admin_api.create_user(f"ivan-{tag}", ["sales_manager"], ["general"])
    await ui.sign_in()
    await page.get_by_role("link", name="New counterparty").click()
    await expect(ui.heading).to_have_text("New counterparty")

    name = f"Търговска къща Изток {tag}"
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Buyer").uncheck()
    await page.get_by_label("Supplier").check()
    await page.get_by_label("Tax id").fill("BG123456789")
    await page.get_by_label("Main manager").fill(ivan["username"])  # chosen by name, found as it is typed
    await page.get_by_role("option", name=ivan["username"]).first.click()
    await ui.screenshot("counterparty-new")
    await page.get_by_role("button", name="Create").click()

    # The card opens at once, waiting for the view through ?min_position=.
    await expect(page).to_have_url(re.compile(r"#/counterparties/[A-Za-z0-9-]+\?min_position=\d+$"))
    await expect(ui.heading).to_have_text(name)
    card = page.locator("dl.facts")
    await expect(card).to_contain_text("Supplier")
    await expect(card).to_contain_text("BG123456789")
    await expect(card).to_contain_text(ivan["username"])
    await expect(card).to_contain_text("general")  # the default access group
    await ui.screenshot("counterparty-card")

    await page.get_by_role("link", name="Counterparties").first.click()
    await expect(page.get_by_role("link", name=name)).to_be_visible()


async def test_validation_messages_appear_next_to_their_fields(ui, page) -> None:
    await ui.sign_in()
    await ui.goto("/counterparties/new")
    await page.get_by_label("Name").fill("   ")
    await page.get_by_label("Tax id").fill("!!")
    await page.get_by_role("button", name="Create").click()

    name_field = page.locator(".field[data-field=name]")
    tax_field = page.locator(".field[data-field=tax_id]")
    await expect(name_field.locator(".field-error")).to_have_text("Required.")
    await expect(tax_field.locator(".field-error")).to_have_text("2–32 Latin letters, digits, spaces or hyphens.")
    await expect(page.get_by_label("Tax id")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Name")).to_be_focused()
    await ui.screenshot("counterparty-new-errors")


async def test_search_by_name_prefix_and_filter_by_relation(ui, page, admin_api, tag) -> None:
    await admin_api.create_counterparty(f"Алфа {tag} ООД", relations=["buyer"])
    await admin_api.create_counterparty(f"Алфа {tag} Трейд", relations=["supplier"])
    await admin_api.create_counterparty(f"Бета {tag} АД", relations=["buyer"])
    await ui.sign_in()

    search = page.get_by_label("Search", exact=True)
    await search.fill(f"алфа {tag}")  # any case, Cyrillic
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text(f"Алфа {tag} ООД")
    await expect(page).to_have_url(re.compile(r"q=%D0%B0%D0%BB%D1%84%D0%B0"))  # kept in the address

    await page.get_by_label("Relations").select_option("supplier")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"Алфа {tag} Трейд")
    await ui.screenshot("counterparty-search")

    await search.fill(f"Гама {tag}")
    await expect(page.get_by_text("No counterparties match the search.")).to_be_visible()

    # A reload keeps the search.
    await search.fill(f"Бета {tag}")
    await page.get_by_label("Relations").select_option("")
    await expect(rows).to_have_count(1)
    await page.reload()
    await expect(page.get_by_label("Search", exact=True)).to_have_value(f"Бета {tag}")
    await expect(rows).to_have_count(1)


async def test_more_loads_the_next_page(ui, page, admin_api, tag) -> None:
    for i in range(52):
        await admin_api.create_counterparty(f"Страница {tag} {i:02d}")
    await ui.sign_in()
    await page.get_by_label("Search", exact=True).fill(f"Страница {tag}")
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(50)
    more = page.get_by_role("button", name="More", exact=True)  # not the header's "More pages"
    await more.click()
    await expect(rows).to_have_count(52)
    await expect(rows.last).to_contain_text(f"Страница {tag} 51")
    await expect(more).to_be_hidden()


async def test_edit_a_counterparty(ui, page, admin_api, tag) -> None:
    made = await admin_api.create_counterparty(f"Редакция {tag}")
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}")
    await page.get_by_role("link", name="Edit").click()
    await expect(ui.heading).to_have_text("Edit counterparty")
    await expect(page.get_by_label("Name")).to_have_value(f"Редакция {tag}")

    await page.get_by_label("Name").fill(f"Редакция {tag} (нова)")
    await page.get_by_label("Tax id").fill("BG999")
    await ui.screenshot("counterparty-edit")
    await page.get_by_role("button", name="Save").click()
    await expect(ui.heading).to_have_text(f"Редакция {tag} (нова)")
    await expect(page.locator("dl.facts")).to_contain_text("BG999")

    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert stored["name"] == f"Редакция {tag} (нова)"
    assert stored["tax_id"] == "BG999"


async def test_a_change_made_meanwhile_is_a_conflict_with_reload(ui, page, admin_api, tag) -> None:
    made = await admin_api.create_counterparty(f"Конфликт {tag}")
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/edit")
    await expect(page.get_by_label("Name")).to_have_value(f"Конфликт {tag}")

    # Someone else saves first, from the same version the form was loaded with.
    elsewhere = await admin_api.client.patch(
        f"/api/v1/counterparties/{made['id']}",
        json={"name": f"Конфликт {tag} (другаде)"},
        headers={"If-Match": made["etag"]},
    )
    assert elsewhere.status_code == 200, elsewhere.text

    await page.get_by_label("Name").fill(f"Конфликт {tag} (моя)")
    await page.get_by_role("button", name="Save").click()
    conflict = page.locator(".conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("Someone else changed this record")
    await ui.screenshot("counterparty-conflict")

    await conflict.get_by_role("button", name="Reload").click()
    await expect(conflict).to_be_hidden()
    await expect(page.get_by_label("Name")).to_have_value(f"Конфликт {tag} (другаде)")
    await expect(page.get_by_text("You are editing version 1.")).to_be_visible()

    await page.get_by_label("Name").fill(f"Конфликт {tag} (моя)")
    await page.get_by_role("button", name="Save").click()
    await expect(ui.heading).to_have_text(f"Конфликт {tag} (моя)")


async def test_language_switch_changes_the_texts_and_is_remembered(ui, page, admin_api) -> None:
    await ui.sign_in()
    await expect(ui.heading).to_have_text("Counterparties")
    await page.get_by_label("Search", exact=True).fill("typed before the switch")

    await page.locator("#language").select_option("bg")
    await expect(ui.heading).to_have_text("Контрагенти")
    # The first header link (the last ones may fold under "Още страници" at this width in Bulgarian).
    await expect(page.get_by_role("navigation").get_by_role("link", name="Контрагенти")).to_be_visible()
    # Nothing re-rendered: what was typed stays.
    await expect(page.get_by_label("Търсене", exact=True)).to_have_value("typed before the switch")
    await expect(page).to_have_title("Контрагенти — CRM")
    await expect(page.locator("html")).to_have_attribute("lang", "bg")
    await ui.screenshot("counterparties-bg")

    try:
        await page.reload()
        await expect(ui.heading).to_have_text("Контрагенти")
        me = (await admin_api.get("/api/v1/me")).json()
        assert me["language"] == "bg"  # stored in the profile, so it follows the user
        await page.locator("#language").select_option("en")
        await expect(ui.heading).to_have_text("Counterparties")
        await ui.screenshot("counterparties-en")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})


async def test_a_record_opened_in_a_new_tab_can_be_saved(ui, page, admin_api, tag) -> None:
    made = await admin_api.create_counterparty(f"Нов раздел {tag}")
    await ui.sign_in()
    tab = await page.context.new_page()  # same browser session, fresh sessionStorage
    await tab.goto(f"{ui.base_url}/#/counterparties/{made['id']}/edit")
    await expect(tab.get_by_label("Name")).to_have_value(f"Нов раздел {tag}")
    await tab.get_by_label("Name").fill(f"Нов раздел {tag} (от друг раздел)")
    await tab.get_by_role("button", name="Save").click()
    await expect(tab.get_by_role("heading", level=1)).to_have_text(f"Нов раздел {tag} (от друг раздел)")
