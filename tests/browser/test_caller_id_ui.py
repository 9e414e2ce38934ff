"""Caller id in a real browser: the header's "Who is calling?" box and its page find the counterparty and
the contact person with a number however it is written (spaces, dashes, +359 or 0), never one in an
access group the user cannot see, and offer to register a caller nobody knew, with the number filled in."""

from __future__ import annotations

import secrets

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser

HEADER_BOX = "Who is calling: type a phone number and press Enter"


def fresh_mobile() -> str:
    """Six random digits after 0888: a Bulgarian mobile number no other test of the session uses."""
    return f"{secrets.randbelow(10**6):06d}"


async def test_the_caller_is_found_by_a_number_written_differently_and_never_outside_the_users_groups(
    ui, page, admin_api, tag, user_password
) -> None:
    d = fresh_mobile()
    stored = f"+359 888 {d[:2]} {d[2:4]} {d[4:]}"
    firm = await admin_api.create_counterparty(
        f"Обаждащ се {tag} ООД", contact_info=[{"kind": "phone", "value": stored}]
    )
    hidden = await admin_api.create_counterparty(
        f"Скрит {tag} ООД", access_group="secret", contact_info=[{"kind": "phone", "value": f"0888{d}"}]
    )
    await admin_api.get(f"/api/v1/counterparties?min_position={hidden['position']}")  # the person links to a card
    person = await admin_api.client.post(
        "/api/v1/persons",
        json={
            "first_name": "Мария",
            "last_name": f"Звъняща{tag}",
            "contact_info": [{"kind": "phone", "value": f"0888-{d[:3]}-{d[3:]}"}],
            "links": [{"counterparty_id": firm["id"], "position": "Управител"}],
        },
    )
    assert person.status_code == 201, person.text
    await admin_api.get(f"/api/v1/persons?min_position={person.headers['X-Commit-Position']}")
    # The administrator sees both counterparties with the number: the hidden one is really there.
    everyone = (await admin_api.get(f"/api/v1/lookup/phone?number=0888{d}")).json()
    assert {c["id"] for c in everyone["counterparties"]} == {firm["id"], hidden["id"]}

    user = f"caller-{tag}"
    await admin_api.create_user(user, ["sales_manager"], ["general"])
    await ui.sign_in(user, user_password, then=None)

    # From the header, on any page: the number as a person would dictate it, with 0 and spaces.
    await page.get_by_role("button", name="Who is calling").click()
    box = page.get_by_role("textbox", name=HEADER_BOX)
    await expect(box).to_be_focused()
    await box.fill(f"0888 {d[:3]} {d[3:]}")
    await ui.screenshot("caller-id-header-box")
    await box.press("Enter")
    await expect(box).to_be_hidden()  # the box closes once it has opened the answer
    await expect(ui.heading).to_have_text("Who is calling")
    found = page.locator(".caller-id-found")
    counterparties = found.locator("[data-part='counterparties'] li")
    await expect(counterparties).to_have_count(1)
    await expect(counterparties.get_by_role("link")).to_have_text(f"Обаждащ се {tag} ООД")
    persons = found.locator("[data-part='persons'] li")
    await expect(persons).to_have_count(1)
    await expect(persons).to_contain_text(f"Мария Звъняща{tag}")
    await expect(persons).to_contain_text(f"Управител, Обаждащ се {tag} ООД")
    await expect(found).not_to_contain_text(f"Скрит {tag}")
    await ui.screenshot("caller-id-found")

    # On the page, written another way (+359, dashes): the same answer, as you type.
    number = page.get_by_label("Phone number", exact=True)
    await number.fill(f"+359-888-{d}")
    await expect(found).to_have_attribute("data-number", f"+359888{d}")
    await expect(counterparties).to_have_count(1)
    await expect(persons).to_have_count(1)
    await counterparties.get_by_role("link").click()
    await expect(ui.heading).to_have_text(f"Обаждащ се {tag} ООД")
    await page.go_back()
    await expect(ui.heading).to_have_text("Who is calling")
    await persons.get_by_role("link", name=f"Мария Звъняща{tag}").click()
    await expect(page).to_have_url(f"{ui.base_url}/#/persons/{person.json()['id']}")

    # A number nobody the user may see has: "no match", and a way to register the caller.
    unknown = f"0887 {fresh_mobile()}"
    await ui.goto(f"/caller-id?number={unknown.replace(' ', '%20')}")
    none = page.locator(".caller-id-none")
    await expect(none).to_contain_text("No counterparty or contact person you can see has the number +359887")
    await expect(page.locator(".caller-id-found")).to_have_count(0)
    await ui.screenshot("caller-id-none")
    await page.get_by_role("link", name="Register a new counterparty with this number").click()
    await expect(ui.heading).to_have_text("New counterparty")
    phone_row = page.locator(".cp-contact-row").first
    await expect(phone_row.locator("[data-part='value'] input")).to_have_value(f"+359{unknown[1:].replace(' ', '')}")
    await expect(phone_row.locator("[data-part='kind'] select")).to_have_value("phone")

    # Not a number at all: said at the field, no request answered as "no match".
    await ui.goto("/caller-id")
    await page.get_by_label("Phone number", exact=True).fill("not a number 123")
    await expect(page.locator(".field[data-field='number'] .field-error")).to_have_text("This is not a phone number.")
    await expect(page.locator(".caller-id-none")).to_have_count(0)


async def test_caller_id_speaks_bulgarian(ui, page) -> None:
    await ui.sign_in()
    await page.locator("#language").select_option("bg")
    # The switch saves the language and redraws the page; a redraw taking the focus would close the box.
    await page.wait_for_load_state("networkidle")
    await page.get_by_role("button", name="Кой се обажда").click()
    box = page.get_by_role("textbox", name="Кой се обажда: въведете телефонен номер и натиснете Enter")
    await expect(box).to_have_attribute("placeholder", "Кой се обажда?")
    await box.fill(f"0887 {fresh_mobile()}")
    await box.press("Enter")
    await expect(ui.heading).to_have_text("Кой се обажда")
    await expect(page.locator(".caller-id-none")).to_contain_text("няма номер +359887")
    await expect(page.get_by_role("link", name="Регистрирай нов контрагент с този номер")).to_be_visible()
