"""Who sees what (roles, access groups), administration, and the lost-connection banner."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_a_sales_manager_sees_only_the_counterparties_of_their_groups(
    ui, page, open_ui, admin_api, crm, tag, user_password
) -> None:
    # The administrator defines the access groups, then creates the manager through the administration page.
    await admin_api.define_groups("north", "south")
    await ui.sign_in()
    await ui.nav("Users")
    await expect(ui.heading).to_have_text("Users")
    await page.get_by_role("button", name="New user").click()
    username = f"manager-{tag}"
    await page.get_by_label("Username").fill(username)
    await page.get_by_label(re.compile(r"^Name")).fill("Мениджър Север")
    await page.get_by_label("Initial password").fill(user_password)
    await page.get_by_label("Sales manager").check()
    await page.get_by_label("North (north)").check()
    await ui.screenshot("users-new")
    await page.get_by_role("button", name="Create").click()
    row = page.locator(f"tr[data-username='{username}']")
    await expect(row).to_contain_text("Sales manager")
    await expect(row).to_contain_text("north")
    await ui.screenshot("users")

    north = await admin_api.create_counterparty(f"Север {tag}", access_group="north")
    south = await admin_api.create_counterparty(f"Юг {tag}", access_group="south")

    manager = await open_ui(crm.base_url)
    await manager.sign_in(username, user_password)
    await expect(manager.page.get_by_role("link", name=f"Север {tag}")).to_be_visible()
    await expect(manager.page.get_by_role("link", name=f"Юг {tag}")).to_have_count(0)
    # Administration is not offered, and its address looks like any unknown one.
    await expect(manager.page.get_by_role("navigation").get_by_role("link", name="Users")).to_have_count(0)
    await manager.screenshot("counterparties-sales-manager")

    await manager.goto(f"/counterparties/{south['id']}")
    await expect(manager.heading).to_have_text("Not found")
    await manager.screenshot("not-found")
    await manager.goto(f"/counterparties/{north['id']}")
    await expect(manager.heading).to_have_text(f"Север {tag}")
    await manager.goto("/users")
    await expect(manager.heading).to_have_text("Not found")

    # A new counterparty of the manager goes into the manager's group.
    await manager.goto("/counterparties/new")
    await expect(manager.page.get_by_label("Access group")).to_have_value("north")


async def test_an_empty_register_invites_to_create_and_a_stopped_server_shows_the_banner(open_ui, own_crm) -> None:
    ui = await open_ui(own_crm.base_url)
    page = ui.page
    await ui.sign_in()
    await expect(page.get_by_text("No counterparties yet.")).to_be_visible()
    await expect(page.get_by_role("link", name="Create the first one")).to_be_visible()
    await ui.screenshot("counterparties-empty")

    await asyncio.to_thread(own_crm.stop)
    await page.get_by_label("Search", exact=True).fill("Нещо")
    banner = page.locator("#connection-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text("No connection to the server — retrying…")
    await ui.screenshot("connection-lost")

    await asyncio.to_thread(own_crm.start)
    # The banner goes by itself and the waiting search is answered.
    await expect(banner).to_be_hidden(timeout=20_000)
    await expect(page.get_by_text("No counterparties match the search.")).to_be_visible()


async def test_requests_that_fail_show_the_banner_until_the_network_returns(ui, page, admin_api, tag) -> None:
    await admin_api.create_counterparty(f"Мрежа {tag}")
    await ui.sign_in()

    async def cut(route) -> None:
        await route.abort("internetdisconnected")

    await page.route("**/api/v1/**", cut)
    await page.route("**/health", cut)
    await page.get_by_label("Search", exact=True).fill(f"Мрежа {tag}")
    banner = page.locator("#connection-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("role", "alert")

    await page.unroute_all()
    await expect(banner).to_be_hidden(timeout=20_000)
    await expect(page.get_by_role("link", name=f"Мрежа {tag}")).to_be_visible()


async def test_a_create_that_cannot_reach_the_server_says_so(ui, page) -> None:
    await ui.sign_in()
    await ui.goto("/counterparties/new")
    await page.get_by_label("Name").fill("Без връзка")
    await page.get_by_label("Main manager").fill("ivan")
    await page.route("**/api/v1/counterparties", lambda route: route.abort("internetdisconnected"))
    await page.route("**/health", lambda route: route.abort("internetdisconnected"))
    await page.get_by_role("button", name="Create").click()
    # A create carries an Idempotency-Key, so it waits and retries rather than fail: the banner says why.
    await expect(page.locator("#connection-banner")).to_be_visible()
    await page.unroute_all()
    await expect(ui.heading).to_have_text("Без връзка", timeout=20_000)


async def test_an_administrator_locks_a_user_who_then_cannot_sign_in(
    ui, page, open_ui, admin_api, crm, tag, user_password
) -> None:
    username = f"locked-{tag}"
    await admin_api.define_groups("north", "south")
    await admin_api.create_user(username, ["read_only"], ["north"])
    await ui.sign_in()
    await ui.goto("/users")
    row = page.locator(f"tr[data-username='{username}']")
    await row.get_by_role("button", name="Edit").click()
    await page.get_by_label("Locked (cannot sign in)").check()
    await page.get_by_label("South (south)").check()
    await page.get_by_role("button", name="Save").click()
    await expect(row).to_contain_text("Locked")
    await expect(row).to_contain_text("north, south")

    someone = await open_ui(crm.base_url)
    await someone.goto("/sign-in")
    await someone.page.locator("#language").select_option("en")
    await someone.page.get_by_label("Username").fill(username)
    await someone.page.get_by_label("Password").fill(user_password)  # right, so the lock is told (423)
    await someone.page.get_by_role("button", name="Sign in").click()
    await expect(someone.page.get_by_role("alert")).to_have_text(
        "This account is locked. Ask an administrator to unlock it."
    )
    await someone.screenshot("sign-in-locked")


async def test_the_account_page_changes_the_password(ui, page, open_ui, admin_api, crm, tag, user_password) -> None:
    username = f"account-{tag}"
    await admin_api.create_user(username, ["sales_manager"], ["north"])
    await ui.sign_in(username, user_password)
    await ui.nav("My account")
    await expect(ui.heading).to_have_text("My account")
    await expect(page.locator("dl.facts")).to_contain_text("Sales manager")
    await expect(page.locator("dl.facts")).to_contain_text("north")

    await page.get_by_label("Current password").fill("not-the-password")
    await page.get_by_label(re.compile(r"^New password")).fill("a-new-password-1")
    await page.get_by_label("Repeat the new password").fill("a-new-password-1")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator(".field[data-field=current_password] .field-error")).to_have_text(
        "The current password is wrong."
    )
    await ui.screenshot("account-wrong-password")

    await page.get_by_label("Current password").fill(user_password)
    await page.get_by_label(re.compile(r"^New password")).fill("a-new-password-1")
    await page.get_by_label("Repeat the new password").fill("a-new-password-1")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_text("The password was changed.")).to_be_visible()

    again = await open_ui(crm.base_url)
    await again.sign_in(username, "a-new-password-1")


async def test_user_form_messages_stand_next_to_their_fields(ui, page, admin_api, tag) -> None:
    await admin_api.create_user(f"taken-{tag}", ["read_only"])
    await ui.sign_in()
    await ui.goto("/users")
    await page.get_by_role("button", name="New user").click()
    await page.get_by_label("Username").fill(f"taken-{tag}")
    await page.get_by_label(re.compile(r"^Name")).fill("Някой")
    await page.get_by_label("Initial password").fill("short")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator(".field[data-field=password] .field-error")).to_have_text(
        "Choose a password of at least 10 characters."
    )
    await page.get_by_label("Initial password").fill("long-enough-password")
    await page.get_by_role("button", name="Create").click()
    await expect(page.locator(".field[data-field=username] .field-error")).to_have_text("This username is taken.")
    await page.locator("#language").select_option("bg")
    await expect(page.locator(".field[data-field=username] .field-error")).to_have_text(
        "Това потребителско име е заето."
    )
    await ui.screenshot("users-taken-bg")


async def test_administrators_keep_the_access_group_catalogue(ui, page, admin_api, tag) -> None:
    await ui.sign_in()
    await ui.goto("/access-groups")  # beside Users in the header (or under More on a narrow one)
    await expect(ui.heading).to_have_text("Access groups")
    await expect(page.locator("tr[data-code='general']")).to_contain_text("Active")

    code = f"east-{tag}".lower()
    await page.get_by_role("button", name="New access group").click()
    await page.get_by_label("Code").fill(code)
    await page.get_by_label(re.compile(r"^Name")).fill("Изток")
    await page.get_by_role("button", name="Create").click()
    row = page.locator(f"tr[data-code='{code}']")
    await expect(row).to_contain_text("Изток")

    # A taken code is refused on the field.
    await page.get_by_role("button", name="New access group").click()
    await page.get_by_label("Code").fill(code)
    await page.get_by_label(re.compile(r"^Name")).fill("Again")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_text("This code is taken.")).to_be_visible()
    await page.get_by_role("button", name="Cancel").click()

    await row.get_by_role("button", name="Rename").click()
    await page.get_by_label(re.compile(r"^Name")).fill("Изток и Север")
    await page.get_by_role("button", name="Save").click()
    await expect(row).to_contain_text("Изток и Север")
    await row.get_by_role("button", name="Retire").click()
    await expect(row).to_contain_text("Retired")
    await ui.screenshot("access-groups")

    # The user form offers the catalogue's active groups only.
    await ui.nav("Users")
    await page.get_by_role("button", name="New user").click()
    await expect(page.get_by_label("General (general)")).to_be_visible()
    await expect(page.get_by_label(re.compile("Изток и Север"))).to_have_count(0)
