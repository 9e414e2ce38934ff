"""The contact person pages in a real browser: list and search, create with contact information,
validation next to the fields, link to a counterparty, edit, history, vCard, the counterparty's
persons, and the personal-data actions (export, erase with a confirmation)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def create_person(admin_api: Any, **fields: Any) -> dict[str, Any]:
    answer = await admin_api.client.post("/api/v1/persons", json=fields)
    assert answer.status_code == 201, answer.text
    return {**answer.json(), "position": answer.headers["X-Commit-Position"]}


async def test_create_a_person_link_it_and_find_it(ui, page, admin_api, tag) -> None:
    await admin_api.define_reference("contact-kinds", f"mob-{tag}", f"Мобилен {tag}", type="phone", applies_to="person")
    await admin_api.define_reference("person-roles", f"boss-{tag}", f"Управител {tag}")
    firm = await admin_api.create_counterparty(f"Фирма {tag} ООД")
    await ui.sign_in()
    await ui.nav("Contact persons")
    await expect(ui.heading).to_have_text("Contact persons")
    await page.get_by_role("link", name="New contact person").click()
    await expect(ui.heading).to_have_text("New contact person")

    # Refusals appear next to their fields: no name, and a phone number that is not one.
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator(".field[data-field='first_name'] .field-error")).to_have_text(
        "Give a first name or a last name."
    )
    await expect(page.get_by_label("First name")).to_be_focused()
    await page.get_by_label("First name").fill("Радка")
    await page.get_by_label("Last name").fill(f"Тагова{tag}")
    await page.get_by_role("button", name="Add contact information").click()
    await page.get_by_label("Kind").select_option(f"mob-{tag}")
    await page.get_by_label("Value").fill("12")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator(".field[data-field='contact_info[0].value'] .field-error")).to_have_text(
        "Not a valid phone number."
    )
    await page.get_by_label("Value").fill("0888 123 456")
    await page.get_by_label("Birth date").fill("1980-05-17")
    await page.get_by_label("Birthday reminder").fill("7")
    await page.get_by_label("Gender").select_option("female")
    await ui.screenshot("person-new")
    await page.get_by_role("button", name="Create").click()

    await expect(page).to_have_url(re.compile(r"#/persons/[A-Za-z0-9-]+\?min_position=\d+$"))
    await expect(ui.heading).to_have_text(f"Радка Тагова{tag}")
    facts = page.locator("dl.facts")
    await expect(facts).to_contain_text("Female")
    await expect(facts).to_contain_text("7 days ahead")
    await expect(page.locator(".person-contact-table")).to_contain_text("+359888123456")
    await expect(page.get_by_role("link", name="Download vCard")).to_have_attribute("href", re.compile(r"/vcard$"))

    # Link it to the counterparty, found by name.
    await page.get_by_label("Counterparty").fill(f"Фирма {tag}")
    await page.get_by_role("button", name=f"Фирма {tag} ООД").click()
    await page.get_by_label("Position").fill("Главен счетоводител")
    await page.get_by_label("Role").select_option(f"boss-{tag}")
    await page.get_by_role("button", name="Link", exact=True).click()
    links = page.locator("table.person-links")
    await expect(links).to_contain_text(f"Фирма {tag} ООД")
    await expect(links).to_contain_text("Главен счетоводител")
    await expect(links).to_contain_text(f"Управител {tag}")
    await ui.screenshot("person-card")

    await page.get_by_role("button", name="Show the history").click()
    history = page.locator(".person-history-table")
    await expect(history).to_contain_text("Registered")
    await expect(history).to_contain_text("Linked to a counterparty")

    # The counterparty's card lists its persons.
    await ui.goto(f"/counterparties/{firm['id']}/persons")
    await expect(page.locator("table.person-links-table")).to_contain_text(f"Радка Тагова{tag}")
    await expect(page.locator("table.person-links-table")).to_contain_text("Главен счетоводител")

    # The list finds it by the beginning of the last name or of the first name, in any case.
    await ui.goto("/persons")
    await page.get_by_label("Search by name").fill(f"ТАГОВА{tag}")
    await expect(page.get_by_role("link", name=f"Радка Тагова{tag}")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"#/persons\?q="))
    await page.locator("#language").select_option("bg")
    await expect(ui.heading).to_have_text("Лица за контакт")
    await ui.screenshot("persons-list-bg")


async def test_edit_a_person(ui, page, admin_api, tag) -> None:
    person = await create_person(admin_api, first_name="Стоян", last_name=f"Редактов{tag}")
    await ui.sign_in()
    await ui.goto(f"/persons/{person['id']}?min_position={person['position']}")
    await expect(ui.heading).to_have_text(f"Стоян Редактов{tag}")
    await page.get_by_role("link", name="Edit").click()
    await expect(ui.heading).to_have_text("Edit contact person")
    await page.get_by_label("Middle name").fill("Петров")
    await page.get_by_label("Description").fill("Предпочита срещи сутрин")
    await page.get_by_role("button", name="Save").click()
    await expect(ui.heading).to_have_text(f"Стоян Петров Редактов{tag}")
    await expect(page.locator("dl.facts")).to_contain_text("Предпочита срещи сутрин")


async def test_an_administrator_exports_and_erases_personal_data(ui, page, admin_api, tag) -> None:
    person = await create_person(
        admin_api, first_name="Гергана", last_name=f"Изтрийова{tag}", birth_date="1975-03-02", description="Тайна"
    )
    await ui.sign_in()
    await ui.goto(f"/persons/{person['id']}?min_position={person['position']}")
    await expect(ui.heading).to_have_text(f"Гергана Изтрийова{tag}")

    async with page.expect_download() as waiting:
        await page.get_by_role("button", name="Export personal data").click()
    download = await waiting.value
    saved = await download.path()
    exported = json.loads(saved.read_text(encoding="utf-8"))
    assert exported["card"]["first_name"] == "Гергана" and exported["personal_data_readable"] is True
    await expect(page.get_by_text("The export was downloaded.")).to_be_visible()

    await page.get_by_role("button", name="Erase", exact=True).click()
    confirm = page.get_by_role("button", name="Erase for good")
    await expect(confirm).to_be_visible()
    await ui.screenshot("person-erase-confirm")
    await confirm.click()  # no reason given: refused next to the field
    await expect(page.locator(".field[data-field='reason'] .field-error")).not_to_be_empty()
    await page.get_by_label("Reason").fill(f"GDPR request {tag}")
    await confirm.click()

    await expect(ui.heading).to_have_text("Erased person")
    await expect(page.locator(".person-erased")).to_contain_text("was erased")
    await expect(page.locator("dl.facts")).not_to_contain_text("Тайна")
    await expect(page.get_by_role("link", name="Download vCard")).to_have_count(0)
    await expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    await page.get_by_role("button", name="Show the history").click()
    history = page.locator(".person-history-table")
    await expect(history).to_contain_text("Personal data erased")
    await expect(history).not_to_contain_text("Гергана")
    await ui.screenshot("person-erased")


async def test_a_read_only_user_has_no_write_or_personal_data_actions(
    open_ui, crm, admin_api, tag, user_password
) -> None:
    person = await create_person(admin_api, last_name=f"Четимов{tag}")
    await admin_api.create_user(f"reader{tag}", ["read_only"], ["general"])
    reader = await open_ui(crm.base_url)
    await reader.sign_in(f"reader{tag}", user_password)
    await reader.goto(f"/persons/{person['id']}?min_position={person['position']}")
    await expect(reader.heading).to_have_text(f"Четимов{tag}")
    await expect(reader.page.get_by_role("link", name="Edit")).to_have_count(0)
    await expect(reader.page.get_by_role("button", name="Export personal data")).to_have_count(0)
    await expect(reader.page.get_by_role("button", name="Link", exact=True)).to_have_count(0)
    await reader.goto("/persons")
    await expect(reader.page.get_by_role("link", name="New contact person")).to_have_count(0)


async def test_properties_and_categories_are_edited_shown_and_filter_the_list(ui, page, admin_api, tag) -> None:
    level, key, firms_only = f"lvl-{tag}", f"key-{tag}", f"firms-{tag}"
    await admin_api.define_reference(
        "properties", level, f"Ниво {tag}", value_type="choice", choices=["злато", "сребро"], applies_to="person"
    )
    await admin_api.define_reference("categories", key, f"Ключов {tag}", applies_to="person")
    await admin_api.define_reference("categories", firms_only, f"Само фирми {tag}", applies_to="counterparty")
    person = await create_person(admin_api, first_name="Класа", last_name=f"Етикетова{tag}")
    await create_person(admin_api, first_name="Друга", last_name=f"Етикетова{tag}")
    await ui.sign_in()
    await ui.goto(f"/persons/{person['id']}/edit")
    await expect(ui.heading).to_have_text("Edit contact person")
    await expect(page.get_by_label(f"Само фирми {tag}")).to_have_count(0)  # a category for counterparties only
    await page.get_by_label(f"Ниво {tag}").select_option("злато")
    await page.get_by_label(f"Ключов {tag}").check()
    await ui.screenshot("person-edit-classification")
    await page.get_by_role("button", name="Save").click()

    await expect(ui.heading).to_have_text(f"Класа Етикетова{tag}")
    await expect(page.locator(f"dl.person-properties dd[data-property='{level}']")).to_have_text("злато")
    await expect(page.locator("ul.person-categories")).to_contain_text(f"Ключов {tag}")
    await page.get_by_role("button", name="Show the history").click()
    await expect(page.locator(".person-history-table")).to_contain_text(f"properties: Ниво {tag}: злато")
    await ui.screenshot("person-card-classification")
    stored = (await admin_api.get(f"/api/v1/persons/{person['id']}")).json()
    assert stored["properties"] == {level: "злато"} and stored["categories"] == [key]

    await ui.goto("/persons")
    await page.get_by_label("Search by name").fill(f"етикетова{tag}")
    await expect(page.locator("table.persons-table tbody tr")).to_have_count(2)
    await page.get_by_label("Category").select_option(key)
    await expect(page.locator("table.persons-table tbody tr")).to_have_count(1)
    await expect(page.get_by_role("link", name=f"Класа Етикетова{tag}")).to_be_visible()
    await expect(page).to_have_url(re.compile(rf"#/persons\?q=.+&category={key}$"))
    await ui.screenshot("persons-list-category")
