"""The pages a sales team meets on its first day: the home page "My day" (empty, then with a planned, an
overdue and a quiet counterparty), the calendar's "show completed" remembered per user, the header at a
laptop's and a phone's width, and the information-source prompt on a fresh install and with no sources at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.browser


def moment(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def later_today() -> str:
    """A moment later today in this machine's (and so the browser's) time zone, or just before midnight."""
    now = datetime.now().astimezone()
    soon = now + timedelta(minutes=10)
    return (soon if soon.date() == now.date() else now.replace(hour=23, minute=59, second=0)).isoformat()


async def known(admin_api: Any, name: str, **fields: Any) -> dict[str, Any]:
    """A counterparty (by default the signed-in user's) the interactions service knows of already."""
    if "main_manager" not in fields:
        fields["main_manager"] = (await admin_api.get("/api/v1/me")).json()["id"]
    made = await admin_api.create_counterparty(name, **fields)
    await admin_api.wait_for_interactions_to_know(made["id"])
    return made


def part(page: Page, name: str) -> Any:
    return page.locator(f".home-part[data-part='{name}']")


async def test_my_day_says_what_to_do_when_empty_then_lists_today_overdue_and_quiet_counterparties(
    open_ui, crm, admin_api, tag, user_password
) -> None:
    user = await admin_api.create_user(f"day-{tag}", ["sales_manager"], ["general"])
    ui = await open_ui(crm.base_url)
    page = ui.page
    await ui.sign_in(user["username"], user_password, then=None)
    await expect(page).to_have_title("My day — CRM")
    await expect(part(page, "today")).to_contain_text("Nothing planned for today.")
    await expect(part(page, "today").get_by_role("link", name="Plan an interaction")).to_be_visible()
    await expect(part(page, "overdue")).to_contain_text("Nothing overdue")
    await expect(part(page, "quiet")).to_contain_text("Not contacted for 30 days")
    await expect(part(page, "quiet").get_by_role("link", name="All my counterparties")).to_have_attribute(
        "href", f"#/counterparties?manager={user['id']}"
    )
    await expect(part(page, "changed").get_by_role("link", name="Register a counterparty")).to_be_visible()
    await ui.screenshot("my-day-empty")

    mine = await known(admin_api, f"Днешен {tag}", main_manager=user["id"])
    quiet = await known(admin_api, f"Тих {tag}", main_manager=user["id"])
    call = {"kind": "call", "direction": "outgoing", "counterparty_id": mine["id"], "responsible": user["id"]}
    await admin_api.create_interaction(**call, subject=f"Today {tag}", start=later_today())
    await admin_api.create_interaction(**call, subject=f"Missed {tag}", start=moment(days=-3))
    await admin_api.create_interaction(
        **{**call, "counterparty_id": quiet["id"]},
        subject=f"Long ago {tag}",
        start=moment(days=-40),
        state="completed",
        outcome="Fine",
    )

    await page.reload()
    await expect(part(page, "today").get_by_role("link", name=f"Today {tag}")).to_be_visible()
    await expect(part(page, "overdue").get_by_role("link", name=f"Missed {tag}")).to_be_visible()
    await expect(part(page, "overdue")).not_to_contain_text(f"Today {tag}")
    quiet_row = part(page, "quiet").locator(f"li[data-id='{quiet['id']}']")
    await expect(quiet_row).to_contain_text("40 days ago")
    await expect(part(page, "quiet").locator(f"li[data-id='{mine['id']}']")).to_contain_text("no contact yet")
    await expect(part(page, "changed").get_by_role("link", name=f"Тих {tag}")).to_be_visible()
    await ui.screenshot("my-day")

    # The card opens from the list; the logo leads home again; so does '/'.
    await part(page, "overdue").get_by_role("link", name=f"Missed {tag}").click()
    await expect(ui.heading).to_have_text(f"Missed {tag}")
    await page.locator(".brand").click()
    await expect(ui.heading).to_have_text("My day")
    await ui.goto("/")
    await expect(ui.heading).to_have_text("My day")
    await page.locator("#language").select_option("bg")
    await expect(ui.heading).to_have_text("Моят ден")
    await expect(part(page, "overdue").locator("h2")).to_have_text("Просрочени")


async def test_the_calendar_shows_completed_ones_when_asked_and_remembers_it_per_user(
    ui, page, admin_api, tag, user_password
) -> None:
    made = await known(admin_api, f"Календар {tag}")
    day = (datetime.now().astimezone() - timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    base = {"kind": "meeting", "direction": "outgoing", "counterparty_id": made["id"]}
    await admin_api.create_interaction(**base, subject=f"Planned {tag}", start=day.isoformat())
    await admin_api.create_interaction(
        **base, subject=f"Done {tag}", start=(day + timedelta(hours=2)).isoformat(), state="completed", outcome="Ok"
    )
    other = await admin_api.create_user(f"cal-{tag}", ["sales_manager"], ["general"])

    await ui.sign_in(then=f"/calendar?view=day&date={day.date().isoformat()}")
    toggle = page.get_by_label("Show completed")
    await expect(page.get_by_role("link", name=f"Planned {tag}")).to_be_visible()
    await expect(toggle).not_to_be_checked()
    await expect(page.get_by_role("link", name=f"Done {tag}")).to_have_count(0)
    await toggle.check()
    done = page.locator(".ia-cal-entry.ia-cal-done")
    await expect(done.get_by_role("link", name=f"Done {tag}")).to_be_visible()
    await expect(done).to_contain_text("Completed")
    await page.reload()
    await expect(page.get_by_label("Show completed")).to_be_checked()
    await expect(page.get_by_role("link", name=f"Done {tag}")).to_be_visible()

    # Another user in the same browser has their own choice.
    await page.get_by_role("button", name="Sign out").click()
    # As a person would: the sign-out done before signing in again (the sign-in raced a sign-out still
    # in flight once on a busy machine, and landed on another page than "My day").
    await expect(ui.heading).to_have_text("Sign in")
    await ui.sign_in(other["username"], user_password, then="/calendar")
    await expect(page.get_by_label("Show completed")).not_to_be_checked()


async def header_fits_one_row(page: Page) -> dict[str, Any]:
    return dict(
        await page.evaluate(
            """() => {
              const header = document.querySelector('.app-header');
              const nav = document.getElementById('nav');
              const links = [...nav.querySelectorAll('a')].filter((a) => a.offsetParent !== null);
              const shown = [...header.querySelectorAll('.brand, #nav a, #nav-more, #menu-toggle, .header-tools > *')]
                .filter((e) => e.offsetParent !== null).map((e) => e.getBoundingClientRect());
              const tops = new Set(links.map((a) => Math.round(a.getBoundingClientRect().top)));
              const right = Math.max(...shown.map((r) => r.right));
              // In one row, no two of the header's controls overlap.
              const row = shown.filter((r) => r.top < header.getBoundingClientRect().top + 40)
                .sort((a, b) => a.left - b.left);
              const overlaps = row.some((r, i) => i > 0 && r.left < row[i - 1].right - 0.5);
              return {
                links: links.length,
                folded: document.querySelectorAll('#nav-more-menu a').length,
                total: nav.querySelectorAll('a').length,
                navOverflows: nav.scrollWidth > nav.clientWidth,
                overlaps,
                rows: tops.size,
                headerHeight: header.getBoundingClientRect().height,
                right,
                width: document.documentElement.clientWidth,
                pageScrolls: document.documentElement.scrollWidth > document.documentElement.clientWidth,
              };
            }"""
        )
    )


async def test_the_header_fits_one_row_on_a_laptop_and_folds_into_a_menu_on_a_phone(ui, page) -> None:
    await page.set_viewport_size({"width": 1366, "height": 768})
    await ui.sign_in(then=None)
    for code in ("en", "bg"):  # Bulgarian words are longer
        await page.locator("#language").select_option(code)
        await ui.screenshot(f"header-1366-{code}")
        wide = await header_fits_one_row(page)
        assert wide["links"] >= 5 and wide["rows"] == 1 and not wide["navOverflows"] and not wide["overlaps"], wide
        assert wide["links"] + wide["folded"] == wide["total"] >= 9, wide
        assert wide["headerHeight"] < 70 and wide["right"] <= wide["width"] and not wide["pageScrolls"], wide
    await expect(page.get_by_role("button", name="Меню")).to_be_hidden()
    # What does not fit is one click away, under "More".
    more = page.get_by_role("button", name="Още страници")
    if wide["folded"]:
        await more.click()
        last = page.locator("#nav-more-menu a").last
        await expect(last).to_be_visible()
        wanted = await last.get_attribute("href")
        await last.click()
        await expect(page.locator("#nav-more-menu")).to_be_hidden()
        assert page.url.endswith(str(wanted)), page.url
    await page.locator("#language").select_option("en")

    await page.set_viewport_size({"width": 390, "height": 844})
    menu = page.get_by_role("button", name="Menu")
    await expect(menu).to_be_visible()
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(page.get_by_role("navigation").get_by_role("link", name="Calendar")).to_be_hidden()
    narrow = await header_fits_one_row(page)
    assert narrow["headerHeight"] < 70 and not narrow["pageScrolls"], narrow
    await ui.screenshot("header-390-closed")
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    opened = await header_fits_one_row(page)
    assert opened["right"] <= opened["width"] and not opened["pageScrolls"], opened
    await ui.screenshot("header-390-open")
    await page.get_by_role("navigation").get_by_role("link", name="Calendar").click()
    await expect(ui.heading).to_have_text("Calendar")
    await expect(menu).to_have_attribute("aria-expanded", "false")
    await expect(page.get_by_role("navigation").get_by_role("link", name="Calendar")).to_be_hidden()
    assert not (await header_fits_one_row(page))["pageScrolls"]


async def test_the_source_prompt_says_how_sources_get_there_even_when_there_are_none(
    open_ui, own_crm, user_password
) -> None:
    from tests.browser.conftest import ADMIN, ADMIN_PASSWORD, Api

    admin_api = await Api.sign_in(own_crm.base_url, ADMIN, ADMIN_PASSWORD)
    try:
        buyer = await known(admin_api, "Свеж купувач ООД")
        call = await admin_api.create_interaction(
            kind="call", direction="incoming", subject="First call", start=moment(hours=2), counterparty_id=buyer["id"]
        )
        user = await admin_api.create_user("fresh-manager", ["sales_manager"], ["general"])
        # A fresh install has the default sources: the prompt offers them, and a way to add a missing one.
        admin = await open_ui(own_crm.base_url)
        await admin.sign_in(then=f"/interactions/{call['id']}")
        prompt = admin.page.locator(".ia-source-prompt")
        await expect(prompt.get_by_role("combobox", name="Information source")).to_be_visible()
        await expect(prompt.get_by_role("link", name="The source is not in the list? Add it")).to_have_attribute(
            "href", "#/reference?catalog=sources"
        )
        manager = await open_ui(own_crm.base_url)
        await manager.sign_in(user["username"], user_password, then=f"/interactions/{call['id']}")
        note = manager.page.locator(".ia-source-prompt .ia-sources-note")
        await expect(note).to_have_text(
            "The source is not in the list? An administrator adds sources on the Reference data page."
        )

        # With every source retired there is nothing to choose: no empty list, but the way to add one.
        sources = (await admin_api.get("/api/v1/reference/sources?limit=500")).json()["items"]
        for entry in sources:
            retired = await admin_api.client.post(f"/api/v1/reference/sources/{entry['code']}/retire")
            assert retired.status_code == 200, retired.text
    finally:
        await admin_api.close()

    await admin.page.reload()
    prompt = admin.page.locator(".ia-source-prompt")
    await expect(prompt).to_contain_text("No information sources are defined yet.")
    await expect(prompt.get_by_role("combobox")).to_have_count(0)
    await admin.screenshot("source-prompt-admin-no-sources")
    await prompt.get_by_role("link", name="Add information sources").click()
    await expect(admin.heading).to_have_text("Reference data")
    assert admin.page.url.endswith("catalog=sources"), admin.page.url

    await manager.page.reload()
    prompt = manager.page.locator(".ia-source-prompt")
    await expect(prompt).to_contain_text("An administrator adds them on the Reference data page")
    await expect(prompt.get_by_role("combobox")).to_have_count(0)
    await expect(prompt.get_by_role("link")).to_have_count(0)
