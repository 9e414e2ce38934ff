"""Interactions in a real browser: plan a call from the counterparty's card, find it in the calendar,
complete it with an outcome and see the counterparty's timeline; the prompt to record the information
source of a buyer on an incoming call, which reaches the counterparty's sources in contacts; refusals
next to their fields; the list's filters; a change made meanwhile."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.browser


def tomorrow() -> date:
    # The browser runs on this machine, in its time zone: its days are these.
    return date.today() + timedelta(days=1)


def local_input(day: date, hour: int, minute: int = 0) -> str:
    """A datetime-local value."""
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def utc_iso(day: date, hour: int) -> str:
    """The local moment as an ISO time with its offset, as the API takes it."""
    return datetime(day.year, day.month, day.day, hour).astimezone().isoformat()


def interaction_id_in(url: str) -> str:
    found = re.search(r"#/interactions/([A-Za-z0-9-]+)", url)
    assert found, url
    return found.group(1)


async def buyer(admin_api: Any, name: str, **fields: Any) -> dict[str, Any]:
    """A buyer the interactions service knows of already."""
    made = await admin_api.create_counterparty(name, **fields)
    await admin_api.wait_for_interactions_to_know(made["id"])
    return made


def fact(page: Page, key: str) -> Any:
    return page.locator(f"dd[data-fact='{key}']")


async def test_plan_a_call_from_the_card_see_it_in_the_calendar_complete_it_and_see_the_timeline(
    ui, page, admin_api, tag
) -> None:
    made = await buyer(admin_api, f"Обаждане {tag} ООД")
    subject = f"Offer {tag}"
    day = tomorrow()
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/interactions")
    await expect(page.get_by_role("tab", name="Interactions")).to_have_attribute("aria-selected", "true")
    await expect(page.locator(".ia-summary-empty")).to_have_text("No interactions with this counterparty yet.")

    # Plan: the card's counterparty comes chosen.
    await page.get_by_role("link", name="Plan", exact=True).click()
    await expect(ui.heading).to_have_text("Plan an interaction")
    await expect(page.locator(".field[data-field='counterparty_id'] .ia-picker-chosen")).to_have_text(made["name"])
    await page.get_by_label("Kind").select_option("call")
    await page.get_by_label("Direction").select_option("outgoing")
    await page.get_by_label("Subject").fill(subject)
    await page.locator("input[name=start]").fill(local_input(day, 10))
    await page.locator("input[name=end]").fill(local_input(day, 10, 30))
    await page.get_by_label("Importance").select_option("high")
    await page.get_by_label("Reminder").select_option("15")
    await ui.screenshot("interaction-plan")
    await page.get_by_role("button", name="Plan", exact=True).click()

    await expect(ui.heading).to_have_text(subject)
    await expect(page.locator(".ia-card .page-head .ia-state")).to_have_text("Planned")
    await expect(fact(page, "ia.field.kind")).to_have_text("Phone call")
    await expect(fact(page, "ia.field.reminder")).to_contain_text("15 minutes before")
    await expect(fact(page, "ia.field.counterparty")).to_have_text(made["name"])
    await expect(page.locator(".ia-source-prompt")).to_have_count(0)  # outgoing: no prompt
    iid = interaction_id_in(page.url)
    stored = (await admin_api.get(f"/api/v1/interactions/{iid}")).json()
    assert (stored["kind"], stored["state"], stored["importance"], stored["reminder"]) == (
        "call",
        "planned",
        "high",
        15,
    )
    assert datetime.fromisoformat(stored["end"]) - datetime.fromisoformat(stored["start"]) == timedelta(minutes=30)

    # The calendar: the header link opens this week; the day and month of the call show it too.
    await page.locator("#nav").get_by_role("link", name="Calendar").click()
    await expect(ui.heading).to_have_text("Calendar")
    for view in ("week", "day", "month"):
        await ui.goto(f"/calendar?view={view}&date={day.isoformat()}")
        entry = page.locator(f".ia-cal-cell[data-day='{day.isoformat()}'] .ia-cal-entry, .ia-cal-day .ia-cal-entry")
        await expect(entry.filter(has_text=subject)).to_have_count(1)
    await ui.screenshot("interaction-calendar-month")
    await page.locator(".ia-cal-entry").filter(has_text=subject).get_by_role("link").click()
    await expect(ui.heading).to_have_text(subject)

    # Complete it with an outcome.
    await page.get_by_role("button", name="Complete").click()
    await page.locator("textarea[name=outcome]").fill("They take the offer")
    await page.locator("input[name=outcome_code]").fill("agreed")
    await page.get_by_role("button", name="Mark as completed").click()
    await expect(page.locator(".ia-card .page-head .ia-state")).to_have_text("Completed")
    await expect(fact(page, "ia.field.outcome")).to_have_text("They take the offer")
    history = page.locator(".ia-history-table tbody tr")
    await expect(history).to_have_count(2)
    await expect(history.nth(0)).to_contain_text("Planned")
    await expect(history.nth(1)).to_contain_text("Completed")
    await expect(history.nth(1)).to_contain_text("They take the offer")
    await ui.screenshot("interaction-card-completed")

    # No longer planned: gone from the calendar.
    await ui.goto(f"/calendar?view=day&date={day.isoformat()}")
    await expect(page.locator(".ia-cal-empty")).to_have_text("Nothing planned on this day.")

    # The counterparty's timeline and summary, with the drill-down to the list.
    await ui.goto(f"/counterparties/{made['id']}/interactions")
    row = page.locator(".ia-timeline tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(subject)
    await expect(row).to_contain_text("Completed")
    await expect(row).to_contain_text("They take the offer")
    await expect(page.locator(".ia-summary")).to_contain_text("Interactions: 1")
    await expect(page.locator(".ia-summary-one[data-which='last']")).to_contain_text(subject)
    await expect(page.locator(".ia-summary-one[data-which='next']")).to_have_text("Nothing planned ahead.")
    await ui.screenshot("counterparty-interactions-tab")
    await page.locator(".ia-counts[data-counts='state'] a").filter(has_text="Completed").click()
    await expect(ui.heading).to_have_text("Interactions")
    await expect(page).to_have_url(re.compile(r"counterparty_id=.*state=completed|state=completed.*counterparty_id="))
    await expect(page.locator(".ia-table tbody tr")).to_have_count(1)
    await expect(page.locator(".ia-table tbody tr")).to_contain_text(subject)


async def test_an_incoming_call_from_a_buyer_without_a_source_prompts_for_it_and_contacts_records_it(
    ui, page, admin_api, tag
) -> None:
    source, name = f"ia-fair-{tag}", f"Fair {tag}"
    await admin_api.define_reference("sources", source, name, actuality_days=365)
    made = await buyer(admin_api, f"Без източник {tag} ЕООД")
    subject = f"Asks for prices {tag}"
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/interactions")
    await page.get_by_role("link", name="Record one that happened").click()
    await expect(ui.heading).to_have_text("Record an interaction")
    await expect(page.get_by_label("Record one that happened")).to_be_checked()
    await expect(page.get_by_label("Direction")).to_have_value("incoming")
    await page.get_by_label("Subject").fill(subject)
    await page.locator("textarea[name=outcome]").fill("Sent the price list")
    await page.get_by_role("button", name="Record", exact=True).click()

    # The answer asked for the source: the card shows the prompt.
    await expect(ui.heading).to_have_text(subject)
    prompt = page.locator(".ia-source-prompt")
    await expect(prompt).to_have_attribute("data-reason", "missing")
    await expect(prompt).to_contain_text("is a buyer without an information source")
    await expect(prompt.get_by_label("Information source")).to_be_focused()
    await ui.screenshot("interaction-source-prompt")
    await prompt.get_by_label("Information source").select_option(source)
    await prompt.get_by_role("button", name="Record the source").click()

    await expect(page.locator(".ia-source-recorded")).to_contain_text(f"Source recorded: {name}")
    await expect(page.locator(".ia-source-prompt")).to_have_count(0)
    await expect(fact(page, "ia.field.source")).to_have_text(name)
    await expect(page.locator(".ia-history-table tbody tr").last).to_contain_text("Information source recorded")

    # Contacts takes it from the interactions' event, asynchronously: the sources tab shows it soon.
    await page.get_by_role("link", name="The counterparty’s sources").click()
    table = page.locator(".cp-source-table")
    deadline = time.monotonic() + 15
    while not await table.filter(has_text=name).count():
        assert time.monotonic() < deadline, "the source never reached the counterparty's sources"
        await asyncio.sleep(0.3)
        await page.reload()
        await expect(page.get_by_role("tab", name="Sources")).to_have_attribute("aria-selected", "true")
        await expect(page.locator(".tab-panel:not([hidden]) .loading")).to_have_count(0)
    await expect(page.locator(".cp-source-current")).to_contain_text(name)
    stored = (await admin_api.get(f"/api/v1/counterparties/{made['id']}")).json()
    assert [s["source"] for s in stored["sources"]] == [source]


async def test_an_expired_source_is_prompted_with_the_last_one_and_its_expiry(ui, page, admin_api, tag) -> None:
    source, name = f"ia-ad-{tag}", f"Advert {tag}"
    await admin_api.define_reference("sources", source, name, actuality_days=30)
    long_ago = date.today() - timedelta(days=100)
    made = await buyer(admin_api, f"Изтекъл {tag}", source={"source": source, "on": long_ago.isoformat()})
    call = await admin_api.create_interaction(
        kind="call",
        direction="incoming",
        subject=f"Calls again {tag}",
        start=utc_iso(tomorrow(), 11),
        counterparty_id=made["id"],
    )
    assert call["source_prompt"]["reason"] == "expired"
    await ui.sign_in()
    await ui.goto(f"/interactions/{call['id']}")
    prompt = page.locator(".ia-source-prompt")
    await expect(prompt).to_have_attribute("data-reason", "expired")
    await expect(prompt).to_contain_text(f"({name}) expired on")
    # In Bulgarian too.
    await page.locator("#language").select_option("bg")
    await expect(prompt).to_contain_text("е изтекъл на")
    await expect(prompt.get_by_role("button")).to_have_text("Запиши източника")
    await ui.screenshot("interaction-card-bg")


async def test_an_end_before_the_start_is_shown_next_to_the_end(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Краят {tag}")
    day = tomorrow()
    await ui.sign_in()
    await ui.goto(f"/interactions/new?counterparty_id={made['id']}")
    await expect(page.locator(".field[data-field='counterparty_id'] .ia-picker-chosen")).to_have_text(made["name"])
    await page.get_by_label("Subject").fill(f"Backwards {tag}")
    await page.locator("input[name=start]").fill(local_input(day, 10))
    await page.locator("input[name=end]").fill(local_input(day, 9))
    await page.get_by_role("button", name="Plan", exact=True).click()

    end = page.locator(".field[data-field='end']")
    await expect(end.locator(".field-error")).to_have_text("The end cannot be before the start.")
    await expect(end.locator("input")).to_have_attribute("aria-invalid", "true")
    await expect(end.locator("input")).to_be_focused()
    await expect(page.locator(".field[data-field='start'] .field-error")).to_be_hidden()
    await expect(ui.heading).to_have_text("Plan an interaction")  # nothing was created
    await ui.screenshot("interaction-end-before-start")
    await page.locator("#language").select_option("bg")
    await expect(end.locator(".field-error")).to_have_text("Краят не може да е преди началото.")
    await page.locator("#language").select_option("en")

    # Neither a counterparty nor a person: said next to the counterparty, before asking the server.
    await page.locator(".field[data-field='counterparty_id']").get_by_role("button", name="Remove").click()
    await page.locator("input[name=end]").fill(local_input(day, 11))
    await page.get_by_role("button", name="Plan", exact=True).click()
    await expect(page.locator(".field[data-field='counterparty_id'] .field-error")).to_have_text(
        "Choose a counterparty, a contact person or both."
    )
    listed = (await admin_api.get(f"/api/v1/interactions?counterparty_id={made['id']}")).json()
    assert listed["items"] == []


async def test_the_list_filters_by_kind_and_state_and_pages_on(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Списък {tag}")
    day = tomorrow()
    for hour in (9, 10, 11):
        await admin_api.create_interaction(
            kind="call",
            direction="outgoing",
            subject=f"Call {hour} {tag}",
            start=utc_iso(day, hour),
            counterparty_id=made["id"],
        )
    await admin_api.create_interaction(
        kind="meeting",
        direction="outgoing",
        subject=f"Meeting {tag}",
        start=utc_iso(day, 14),
        counterparty_id=made["id"],
    )
    await ui.sign_in()
    await ui.goto(f"/interactions?counterparty_id={made['id']}")
    rows = page.locator(".ia-table tbody tr")
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text(f"Meeting {tag}")  # latest first
    await page.get_by_label("Kind").select_option("call")
    await expect(rows).to_have_count(3)
    await expect(page).to_have_url(re.compile(r"kind=call"))
    await page.get_by_label("Order").select_option("asc")
    await expect(rows.first).to_contain_text(f"Call 9 {tag}")
    await page.get_by_label("State", exact=True).select_option("cancelled")
    await expect(page.locator(".list-status .empty")).to_have_text("No interactions match these filters.")
    await expect(page.locator(".ia-table")).to_be_hidden()

    # A reload keeps the filters; a period after the day finds none.
    await page.reload()
    await expect(page.get_by_label("Kind")).to_have_value("call")
    await page.get_by_label("State", exact=True).select_option("")
    await expect(rows).to_have_count(3)
    await page.get_by_label("From (day)").fill((day + timedelta(days=1)).isoformat())
    await page.get_by_label("From (day)").dispatch_event("change")
    await expect(page.locator(".list-status .empty")).to_be_visible()
    await ui.screenshot("interactions-list-filters")


async def test_cancelling_what_someone_just_rescheduled_offers_a_reload(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Конфликт {tag}")
    day = tomorrow()
    planned = await admin_api.create_interaction(
        kind="meeting", direction="outgoing", subject=f"Visit {tag}", start=utc_iso(day, 10), counterparty_id=made["id"]
    )
    await ui.sign_in()
    await ui.goto(f"/interactions/{planned['id']}")
    await expect(ui.heading).to_have_text(f"Visit {tag}")
    moved = await admin_api.client.post(
        f"/api/v1/interactions/{planned['id']}/reschedule", json={"start": utc_iso(day, 15)}
    )
    assert moved.status_code == 200, moved.text

    await page.get_by_role("button", name="Cancel the interaction").click()
    await page.locator("textarea[name=reason]").fill("They are on holiday")
    await page.get_by_role("button", name="Confirm the cancellation").click()
    conflict = page.locator(".conflict")
    await expect(conflict).to_be_visible()
    await conflict.get_by_role("button", name="Reload").click()
    await expect(page.locator(".conflict")).to_be_hidden()
    await expect(page.locator(".ia-history-table tbody tr")).to_have_count(2)  # planned, rescheduled
    await page.get_by_role("button", name="Cancel the interaction").click()
    await page.locator("textarea[name=reason]").fill("They are on holiday")
    await page.get_by_role("button", name="Confirm the cancellation").click()
    await expect(page.locator(".ia-card .page-head .ia-state")).to_have_text("Cancelled")
    await expect(fact(page, "ia.field.cancel_reason")).to_have_text("They are on holiday")
    # A cancelled one has no actions left.
    await expect(page.get_by_role("button", name="Complete")).to_have_count(0)


async def test_reschedule_then_follow_up_in_the_same_thread(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Нишка {tag}")
    day = tomorrow()
    first = await admin_api.create_interaction(
        kind="call", direction="outgoing", subject=f"Terms {tag}", start=utc_iso(day, 10), counterparty_id=made["id"]
    )
    await ui.sign_in()
    await ui.goto(f"/interactions/{first['id']}")
    await page.get_by_role("button", name="Reschedule").click()
    form = page.locator(".ia-action-form")
    await form.locator("input[name=start]").fill(local_input(day, 16))
    await form.get_by_label("Reminder").select_option("60")
    await page.get_by_role("button", name="Save the new time").click()
    await expect(page.locator(".ia-history-table tbody tr")).to_have_count(2)
    await expect(page.locator(".ia-history-table tbody tr").last).to_contain_text("Rescheduled")
    await expect(fact(page, "ia.field.reminder")).to_contain_text("1 hour before")
    moved = (await admin_api.get(f"/api/v1/interactions/{first['id']}")).json()
    assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(utc_iso(day, 16))
    assert moved["reminder"] == 60

    # A planned one has no follow-up yet; once completed it has.
    await expect(page.get_by_role("button", name="Plan a follow-up")).to_have_count(0)
    await page.get_by_role("button", name="Complete").click()
    await page.locator("textarea[name=outcome]").fill("Wants a written offer")
    await page.get_by_role("button", name="Mark as completed").click()
    await page.get_by_role("button", name="Plan a follow-up").click()
    form = page.locator(".ia-action-form")
    await expect(form.get_by_label("Subject")).to_have_value(f"Terms {tag}")
    await form.get_by_label("Kind").select_option("email")
    await form.get_by_label("Subject").fill(f"Written offer {tag}")
    await form.locator("input[name=start]").fill(local_input(day + timedelta(days=1), 9))
    await form.get_by_role("button", name="Plan", exact=True).click()

    await expect(ui.heading).to_have_text(f"Written offer {tag}")
    await expect(fact(page, "ia.field.basis")).to_have_text(f"Terms {tag}")
    thread = page.locator(".ia-thread-list li")
    await expect(thread).to_have_count(2)
    await expect(thread.nth(0)).to_contain_text(f"Terms {tag}")
    await expect(thread.nth(0)).to_contain_text("Wants a written offer")
    await expect(thread.nth(1)).to_have_attribute("aria-current", "true")
    await ui.screenshot("interaction-follow-up-thread")
    await thread.nth(0).get_by_role("link", name=f"Terms {tag}").click()
    await expect(ui.heading).to_have_text(f"Terms {tag}")


async def test_the_timeline_on_the_card_pages_on(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Много {tag}")
    start = date.today() + timedelta(days=2)
    for n in range(22):
        await admin_api.create_interaction(
            kind="letter",
            direction="outgoing",
            subject=f"Letter {n:02d} {tag}",
            start=utc_iso(start + timedelta(days=n), 9),
            counterparty_id=made["id"],
        )
    await ui.sign_in()
    await ui.goto(f"/counterparties/{made['id']}/interactions")
    rows = page.locator(".ia-timeline tbody tr")
    await expect(rows).to_have_count(20)
    await expect(rows.first).to_contain_text(f"Letter 21 {tag}")  # latest first
    await expect(page.locator(".ia-summary")).to_contain_text("Interactions: 22")
    await expect(page.locator(".ia-summary-one[data-which='next']")).to_contain_text(f"Letter 00 {tag}")
    await page.get_by_role("button", name="Show more").click()
    await expect(rows).to_have_count(22)
    await expect(rows.last).to_contain_text(f"Letter 00 {tag}")
    await expect(page.get_by_role("button", name="Show more")).to_be_hidden()


async def test_an_administrator_picks_a_managers_calendar_and_a_manager_sees_only_their_own(
    ui, page, admin_api, open_ui, crm, user_password, tag
) -> None:
    group = f"ia-{tag}"
    manager = await admin_api.create_user(f"ia-manager-{tag}", ["sales_manager"], [group])
    made = await buyer(admin_api, f"Календар {tag}", access_group=group, main_manager=manager["id"])
    day = tomorrow()
    await admin_api.create_interaction(
        kind="meeting",
        direction="outgoing",
        subject=f"Their visit {tag}",
        start=utc_iso(day, 12),
        counterparty_id=made["id"],
        responsible=manager["id"],
    )
    await ui.sign_in()
    await ui.goto(f"/calendar?view=week&date={day.isoformat()}")
    await expect(page.locator(".ia-cal-entry").filter(has_text=f"Their visit {tag}")).to_have_count(0)  # not mine
    await page.get_by_label("Whose calendar").fill(manager["username"])  # found as it is typed
    await page.get_by_role("option", name=manager["username"]).first.click()
    await expect(page).to_have_url(re.compile(rf"user={manager['id']}"))
    await expect(page.locator(".ia-cal-entry").filter(has_text=f"Their visit {tag}")).to_have_count(1)

    theirs = await open_ui(crm.base_url)
    await theirs.sign_in(manager["username"], user_password)
    await theirs.goto(f"/calendar?view=month&date={day.isoformat()}")
    await expect(theirs.page.locator(".ia-cal-entry").filter(has_text=f"Their visit {tag}")).to_have_count(1)
    await expect(theirs.page.get_by_label("Whose calendar")).to_have_count(0)
    # A user id in the address is not theirs to choose: their own calendar shows.
    await theirs.goto(f"/calendar?view=month&date={day.isoformat()}&user=someone-else")
    await expect(theirs.page.locator(".ia-cal-entry").filter(has_text=f"Their visit {tag}")).to_have_count(1)


async def test_change_the_details_sends_only_what_changed(ui, page, admin_api, tag) -> None:
    made = await buyer(admin_api, f"Промяна {tag}")
    planned = await admin_api.create_interaction(
        kind="call",
        direction="outgoing",
        subject=f"Before {tag}",
        start=utc_iso(tomorrow(), 10),
        counterparty_id=made["id"],
        third_parties=["Ivan from the bank"],
    )
    await ui.sign_in()
    await ui.goto(f"/interactions/{planned['id']}")
    await page.get_by_role("link", name="Change details").click()
    await expect(ui.heading).to_have_text("Change the interaction")
    await expect(page.get_by_label("Subject")).to_have_value(f"Before {tag}")
    await expect(page.get_by_label("Third parties")).to_have_value("Ivan from the bank")
    await expect(page.locator("input[name=start]")).to_have_count(0)  # times have their own action
    await page.get_by_label("Subject").fill(f"After {tag}")
    await page.get_by_label("Importance").select_option("low")
    await page.get_by_role("button", name="Save").click()

    await expect(ui.heading).to_have_text(f"After {tag}")
    await expect(fact(page, "ia.field.importance")).to_have_text("Low")
    changed = page.locator(".ia-history-table tbody tr").last
    await expect(changed).to_contain_text("Details changed")
    await expect(changed.locator("li")).to_have_count(2)  # the subject and the importance, nothing else
    stored = (await admin_api.get(f"/api/v1/interactions/{planned['id']}")).json()
    assert (stored["subject"], stored["importance"], stored["third_parties"]) == (
        f"After {tag}",
        "low",
        ["Ivan from the bank"],
    )
