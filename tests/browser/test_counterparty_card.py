"""The counterparty form and card in a real browser: relations, contact information (phones shown in
E.164, errors next to their row), properties and categories, groups and the holding, archive and
restore, information sources, the change history and the card as of a past moment, search."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import date
from typing import Any

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

PHONE, EMAIL = "cp-ui-phone", "cp-ui-email"
# The browser's local time, to the second, one second after an ISO moment: a datetime-local value.
LOCAL_SECOND_AFTER = """(iso) => {
  const d = new Date(Math.floor(Date.parse(iso) / 1000) * 1000 + 1000);
  const p = (n) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${day}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}"""


@pytest.fixture
async def kinds(admin_api: Any) -> None:
    """Two kinds of contact information (the session's CRM keeps them once defined)."""
    await admin_api.define_reference("contact-kinds", PHONE, "Mobile phone", type="phone", applies_to="both")
    await admin_api.define_reference("contact-kinds", EMAIL, "Work e-mail", type="email", applies_to="both")


def id_in(url: str) -> str:
    found = re.search(r"#/counterparties/([A-Za-z0-9-]+)", url)
    assert found, url
    return found.group(1)


async def add_contact(page: Any, kind: str, value: str) -> None:
    await page.get_by_role("button", name="Add contact information").click()
    row = page.locator(".cp-contact-row").last
    await row.get_by_label("Kind").select_option(kind)
    await row.get_by_label("Value").fill(value)


async def test_create_with_relations_and_a_phone_shown_in_e164(ui, page, admin_api, kinds, tag) -> None:
    await ui.sign_in()
    await page.get_by_role("link", name="New counterparty").click()
    name = f"Телефон {tag} ООД"
    await page.get_by_label("Name").fill(name)
    await expect(page.get_by_label("Buyer")).to_be_checked()  # the usual case comes checked
    await page.get_by_label("Supplier").check()
    await add_contact(page, PHONE, "0888 123 456")
    await ui.screenshot("counterparty-new-contacts")
    await page.get_by_role("button", name="Create").click()

    await expect(ui.heading).to_have_text(name)
    await expect(page.locator("dd[data-fact='cp.field.relations']")).to_have_text("Buyer, Supplier")
    await page.get_by_role("tab", name="Contact information").click()
    await expect(page).to_have_url(re.compile(r"#/counterparties/[A-Za-z0-9-]+/contacts$"))
    phone = page.locator(".cp-contact-table tbody tr")
    await expect(phone).to_have_count(1)
    await expect(phone.locator(".cp-contact-value")).to_have_text("+359888123456")
    await expect(phone).to_contain_text("Mobile phone")
    await expect(phone).to_contain_text("main")  # the only phone is the main one
    await ui.screenshot("counterparty-card-contacts")

    await page.reload()  # the tab is part of the address
    await expect(page.get_by_role("tab", name="Contact information")).to_have_attribute("aria-selected", "true")
    await expect(phone.locator(".cp-contact-value")).to_have_text("+359888123456")

    stored = (await admin_api.get(f"/api/v1/counterparties/{id_in(page.url)}")).json()
    assert stored["relations"] == ["buyer", "supplier"]
    assert [(c["kind"], c["value"], c["main"]) for c in stored["contact_info"]] == [(PHONE, "+359888123456", True)]

    # The persons tab shows the persons' module, or says it is coming; never an error.
    await page.get_by_role("tab", name="Contact persons").click()
    panel = page.get_by_role("tabpanel")
    await expect(panel).to_be_visible()
    await expect(panel.locator(".loading")).to_have_count(0)
    await expect(panel.locator(".alert-error")).to_have_count(0)


async def test_a_bad_email_shows_its_error_next_to_its_row(ui, page, admin_api, kinds, tag) -> None:
    await ui.sign_in()
    await ui.goto("/counterparties/new")
    await page.get_by_label("Name").fill(f"Имейл грешка {tag}")
    await add_contact(page, PHONE, "0888 123 456")
    await add_contact(page, EMAIL, "not-an-email")
    await page.get_by_role("button", name="Create").click()

    bad = page.locator(".field[data-field='contact_info[1].value']")
    await expect(bad.locator(".field-error")).to_have_text("Not a valid e-mail address.")
    await expect(bad.locator("input")).to_have_attribute("aria-invalid", "true")
    await expect(bad.locator("input")).to_be_focused()
    await expect(page.locator(".field[data-field='contact_info[0].value'] .field-error")).to_be_hidden()
    await ui.screenshot("counterparty-new-bad-email")

    # Removing the first row renumbers the rest: the corrected e-mail is saved.
    await page.locator(".cp-contact-row").first.get_by_role("button", name="Remove").click()
    await expect(page.locator(".cp-contact-row")).to_have_count(1)
    await page.locator(".field[data-field='contact_info[0].value'] input").fill(f"Office.{tag}@Example.COM")
    await page.get_by_role("button", name="Create").click()
    await expect(ui.heading).to_have_text(f"Имейл грешка {tag}")
    stored = (await admin_api.get(f"/api/v1/counterparties/{id_in(page.url)}")).json()
    assert [c["value"] for c in stored["contact_info"]] == [f"Office.{tag}@example.com"]


async def test_edit_contacts_properties_and_categories(ui, page, admin_api, kinds, tag) -> None:
    staff, size, vip = f"cp-staff-{tag}", f"cp-size-{tag}", f"cp-vip-{tag}"
    await admin_api.define_reference("properties", staff, f"Staff {tag}", value_type="number")
    await admin_api.define_reference("properties", size, f"Size {tag}", value_type="choice", choices=["small", "large"])
    await admin_api.define_reference("categories", vip, f"VIP {tag}")
    made = await admin_api.create_counterparty(
        f"Свойства {tag}", contact_info=[{"kind": PHONE, "value": "0888 123 456"}]
    )
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/edit")
    first = page.locator(".field[data-field='contact_info[0].value'] input")
    await expect(first).to_have_value("+359888123456")

    await add_contact(page, EMAIL, f"props.{tag}@example.com")
    await page.get_by_label(f"Staff {tag}").fill("many")
    await page.get_by_label(f"Size {tag}").select_option("large")
    await page.get_by_label(f"VIP {tag}").check()
    await page.get_by_role("button", name="Save").click()
    error = page.locator(f".field[data-field='properties.{staff}'] .field-error")
    await expect(error).to_have_text("Must be a number.")

    await page.get_by_label(f"Staff {tag}").fill("12")
    await page.get_by_role("button", name="Save").click()
    await expect(page).to_have_url(re.compile(rf"#/counterparties/{made['id']}\?min_position=\d+$"))
    await page.get_by_role("tab", name="Properties and categories").click()
    await expect(page.locator(f"dd[data-property='{staff}']")).to_have_text("12")
    await expect(page.locator(f"dd[data-property='{size}']")).to_have_text("large")
    await expect(page.locator(".cp-tags")).to_have_text(f"VIP {tag}")
    await ui.screenshot("counterparty-card-properties")

    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert stored["properties"] == {staff: 12, size: "large"}
    assert stored["categories"] == [vip]
    assert [c["value"] for c in stored["contact_info"]] == ["+359888123456", f"props.{tag}@example.com"]


async def test_group_tree_head_counterparty_and_group_filter(ui, page, admin_api, tag) -> None:
    top, sub, old = f"cp-top-{tag}", f"cp-sub-{tag}", f"cp-old-{tag}"
    await admin_api.define_reference("groups", top, f"Top {tag}")
    await admin_api.define_reference("groups", sub, f"Sub {tag}", parent=top)
    await admin_api.define_reference("groups", old, f"Old {tag}")
    retired = await admin_api.client.post(f"/api/v1/reference/groups/{old}/retire")
    assert retired.status_code == 200, retired.text
    head = await admin_api.create_counterparty(f"Холдинг {tag}")

    await ui.sign_in()
    await ui.goto("/counterparties/new")
    group = page.get_by_label("Group", exact=True)
    await expect(group.locator(f"option[value='{sub}']")).to_have_attribute("data-depth", "1")  # under its parent
    await expect(group.locator(f"option[value='{old}']")).to_have_count(0)  # retired: not offered
    name = f"Дъщерна {tag}"
    await page.get_by_label("Name").fill(name)
    await group.select_option(sub)
    await page.get_by_label("Head counterparty (holding)").fill(f"Холдинг {tag}")
    await page.locator(".cp-picker-results").get_by_role("button", name=f"Холдинг {tag}").click()
    await expect(page.locator(".cp-picker-current")).to_contain_text(f"Холдинг {tag}")
    await page.get_by_role("button", name="Create").click()

    await expect(ui.heading).to_have_text(name)
    await expect(page.locator("dd[data-fact='cp.field.group']")).to_have_text(f"Top {tag} / Sub {tag}")
    link = page.locator("dd[data-fact='cp.field.head'] a")
    await expect(link).to_have_text(f"Холдинг {tag}")
    stored = (await admin_api.get(f"/api/v1/counterparties/{id_in(page.url)}")).json()
    assert stored["head_counterparty_id"] == head["id"]
    assert stored["group"] == sub

    # The tabs are translated too.
    try:
        await page.locator("#language").select_option("bg")
        await expect(page.get_by_role("tab", name="История")).to_be_visible()
        await expect(page.locator("dd[data-fact='cp.field.relations']")).to_have_text("Купувач")
    finally:
        await admin_api.client.patch("/api/v1/me", json={"language": "en"})
        await page.locator("#language").select_option("en")

    await page.get_by_role("link", name="Counterparties").first.click()
    await page.get_by_label("Group", exact=True).select_option(sub)
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(name)
    await expect(rows.first).to_contain_text(f"Top {tag} / Sub {tag}")
    await expect(page).to_have_url(re.compile(rf"group={sub}"))


async def test_archive_and_restore(ui, page, admin_api, tag) -> None:
    made = await admin_api.create_counterparty(f"Архив {tag}")
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}")
    await page.get_by_role("button", name="Archive…").click()
    await page.get_by_label("Reason").fill("closed down")
    await page.get_by_role("button", name="Archive", exact=True).click()

    banner = page.locator(".cp-archived")
    await expect(banner).to_contain_text("This counterparty is archived")
    await expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    await ui.screenshot("counterparty-archived")

    # Lists leave it out unless archived ones are asked for.
    await page.get_by_role("link", name="Counterparties").first.click()
    await page.get_by_label("Search", exact=True).fill(f"Архив {tag}")
    await expect(page.get_by_text("No counterparties match the search.")).to_be_visible()
    await page.get_by_label("Archived").select_option("any")
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Archived")
    await rows.first.get_by_role("link", name=f"Архив {tag}").click()

    await banner.get_by_role("button", name="Restore").click()
    await expect(page.get_by_role("link", name="Edit")).to_be_visible()
    await expect(banner).to_have_count(0)
    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert stored["archived"] is False
    history = (await admin_api.get(f"/api/v1/counterparties/{made['id']}/history")).json()["items"]
    assert [e["event"] for e in history][-2:] == ["CounterpartyArchived", "CounterpartyRestored"]
    assert history[-2]["changes"]["reason"] == "closed down"


async def test_record_sources_and_see_the_current_one_with_its_expiry(ui, page, admin_api, tag) -> None:
    fair = f"cp-fair-{tag}"
    await admin_api.define_reference("sources", fair, f"Fair {tag}", actuality_days=30)
    made = await admin_api.create_counterparty(f"Източник {tag}")
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/sources")
    current = page.locator(".cp-source-current")
    await expect(current).to_have_text("No information source recorded yet.")

    # One long ago: the current source, expired 30 days after its date.
    await page.get_by_label("Information source").select_option(fair)
    await page.get_by_label("Date", exact=True).fill("2020-01-15")
    await page.get_by_role("button", name="Record").click()
    await expect(page).to_have_url(re.compile(r"/sources\?min_position=\d+$"))
    await expect(current).to_contain_text(f"Fair {tag}")
    await expect(current).to_contain_text("Expired on 14 Feb 2020")

    # One today replaces it as the current source.
    await page.get_by_label("Information source").select_option(fair)
    await page.get_by_role("button", name="Record").click()
    rows = page.locator(".cp-source-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("current")
    await expect(rows.last).to_contain_text("expired")
    await expect(current).to_contain_text("Current until")
    await ui.screenshot("counterparty-card-sources")

    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert stored["sources"] == [
        {"source": fair, "on": "2020-01-15"},
        {"source": fair, "on": date.today().isoformat()},
    ]


async def test_history_lists_the_changes_and_shows_the_card_as_of_a_moment(ui, page, admin_api, tag) -> None:
    made = await admin_api.create_counterparty(f"Старо име {tag}")
    await asyncio.sleep(1.2)  # the rename lands in a later second than the registration
    renamed = await admin_api.client.patch(
        f"/api/v1/counterparties/{made['id']}", json={"name": f"Ново име {tag}"}, headers={"If-Match": made["etag"]}
    )
    assert renamed.status_code == 200, renamed.text
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/history?min_position={renamed.headers['X-Commit-Position']}")
    await expect(ui.heading).to_have_text(f"Ново име {tag}")
    rows = page.locator("table.cp-history tbody tr")
    await expect(rows).to_have_count(2)  # newest first
    await expect(rows.first).to_contain_text("Renamed")
    await expect(rows.first).to_contain_text(f"Name: Ново име {tag}")
    await expect(rows.first).to_contain_text("Administrator")  # who: the signed-in user, by name
    await expect(rows.last).to_contain_text("Registered")

    # The picker: a moment after the registration and before the rename.
    registered_at = (await admin_api.get(f"/api/v1/counterparties/{made['id']}/history")).json()["items"][0]["at"]
    await page.get_by_label("Date and time").fill(await page.evaluate(LOCAL_SECOND_AFTER, registered_at))
    await page.get_by_role("button", name="Show").click()
    past = page.locator(".cp-asof-card")
    await expect(past.locator(".cp-asof-name")).to_have_text(f"Старо име {tag}")
    await expect(past).to_contain_text("version 0")
    await expect(page).to_have_url(re.compile(r"/history\?as_of=[^&]+$"))
    await ui.screenshot("counterparty-card-history")

    await page.reload()  # the moment is part of the address
    await expect(past.locator(".cp-asof-name")).to_have_text(f"Старо име {tag}")
    await rows.first.get_by_role("button", name="As of this change").click()
    await expect(past.locator(".cp-asof-name")).to_have_text(f"Ново име {tag}")

    # Before it existed there was no card.
    await page.get_by_label("Date and time").fill("2001-01-01T12:00:00")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator(".cp-asof-result")).to_contain_text("did not exist yet")


async def test_search_by_email_and_by_phone_finds_the_record(ui, page, admin_api, kinds, tag) -> None:
    phone = f"0888 {secrets.randbelow(10**6):06d}"
    name = f"Търсене {tag}"
    await admin_api.create_counterparty(
        name,
        contact_info=[
            {"kind": EMAIL, "value": f"Sales.{tag}@Example.com"},
            {"kind": PHONE, "value": phone},
        ],
    )
    await ui.sign_in()
    search = page.get_by_label("Search", exact=True)
    await search.fill(f"sales.{tag}@example")
    rows = page.locator("table.data-table tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(name)
    await expect(rows.first.locator(".cp-email")).to_have_text(f"Sales.{tag}@example.com")
    e164 = "+359" + phone.replace(" ", "")[1:]
    await expect(rows.first.locator(".cp-phone")).to_have_text(e164)
    await ui.screenshot("counterparty-search-email")

    await search.fill(phone)
    await expect(page.locator("table.data-table tbody tr", has_text=name)).to_have_count(1)
