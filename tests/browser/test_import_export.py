"""Import and export pages in a real browser: upload a file with a bad row, watch the job finish, see
the rejected row with its line number, download the report; export and download the file."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.browser


async def test_import_a_file_with_a_bad_row_then_export_it(ui, page, admin_api, tag, tmp_path: Path) -> None:
    file = tmp_path / f"clients-{tag}.csv"
    file.write_text(
        "name;tax_id;relations;contact:phone\n"
        f"Импорт Алфа {tag};BG{tag}01;buyer;0888 123 456\n"
        f'"Импорт Бета {tag}\nклон";BG{tag}02;supplier;\n'
        f"Импорт Гама {tag};BG{tag}03;клиент;\n",
        encoding="utf-8",
    )
    await ui.sign_in()
    await ui.nav("Import")
    await expect(ui.heading).to_have_text("Import counterparties")
    await page.get_by_label("CSV file").set_input_files(str(file))
    await page.get_by_role("button", name="Import").click()

    await expect(page.locator(".job-state")).to_have_text("Done")
    await expect(page.locator(".job-progress progress")).to_have_attribute("value", "3")
    await expect(page.locator(".job-counts")).to_have_text("3 of 3 rows: 2 imported, 0 unchanged, 1 rejected")
    rejected = page.locator("table.rejected-rows tbody tr")
    await expect(rejected).to_have_count(1)
    await expect(rejected.locator("td").nth(0)).to_have_text("5")  # the quoted line break counts
    await expect(rejected.locator("td").nth(1)).to_have_text("relations")
    await expect(rejected.locator("td").nth(3)).to_have_text(f"Импорт Гама {tag}")
    await expect(page).to_have_url(re.compile(r"#/import\?job=[0-9a-f]{32}$"))
    await ui.screenshot("import-done")
    async with page.expect_download() as report:
        await page.get_by_role("link", name="Download the report").click()
    saved = tmp_path / "report.csv"
    await (await report.value).save_as(saved)
    assert saved.read_text(encoding="utf-8-sig").splitlines()[1].startswith("5,relations,")

    async with asyncio.timeout(20):  # the list (which the export reads) follows the import shortly
        while True:
            if (await admin_api.get(f"/api/v1/counterparties?q=Импорт Алфа {tag}")).json()["items"]:
                break
            await asyncio.sleep(0.2)
    await ui.nav("Export")
    await expect(ui.heading).to_have_text("Export counterparties")
    await page.get_by_label("Search").fill(f"Импорт Алфа {tag}")
    await page.get_by_role("button", name="Export").click()
    await expect(page.locator(".job-state")).to_have_text("Done")
    async with page.expect_download() as exported:
        await page.get_by_role("link", name="Download").click()
    target = tmp_path / "export.csv"
    await (await exported.value).save_as(target)
    text = target.read_text(encoding="utf-8-sig")
    assert text.startswith("id,name,relations,")
    assert f"Импорт Алфа {tag}" in text and "+359888123456" in text
    assert f"Импорт Бета {tag}" not in text
    await ui.screenshot("export-done")


async def test_the_pages_speak_bulgarian(ui, page) -> None:
    await ui.sign_in()
    await page.locator("#language").select_option("bg")
    await ui.goto("/import")
    await expect(ui.heading).to_have_text("Импорт на контрагенти")
    await ui.goto("/export")
    await expect(ui.heading).to_have_text("Експорт на контрагенти")
    await expect(page.get_by_role("button", name="Експортирай")).to_be_visible()


async def test_the_export_filters_managers_by_name_with_the_user_picker(
    ui, page, admin_api, tag, tmp_path: Path
) -> None:
    colleague = await admin_api.create_user(f"izn-{tag}", ["sales_manager"], ["general"])
    theirs = await admin_api.create_counterparty(f"Износ Негов {tag}", main_manager=colleague["id"])
    mine = await admin_api.create_counterparty(f"Износ Мой {tag}", managers=[colleague["id"]])
    await admin_api.get(f"/api/v1/counterparties?min_position={mine['position']}")  # the export reads the list
    await ui.sign_in()
    await ui.nav("Export")
    await expect(ui.heading).to_have_text("Export counterparties")
    # No box asks for an id: the managers are chosen by name, as everywhere else.
    main_manager = page.get_by_role("combobox", name="Main manager")
    await main_manager.press_sequentially(f"izn-{tag}", delay=20)
    await page.get_by_role("option", name=f"izn-{tag}").first.click()
    chosen = page.locator(".field[data-field='main_manager'] .picker-chip")
    await expect(chosen).to_have_text(f"izn-{tag}×")
    await expect(page.locator(".field[data-field='manager'] .picker-any")).to_have_text("Any manager")
    await ui.screenshot("export-manager-picker")
    await page.get_by_role("button", name="Export").click()
    await expect(page.locator(".job-state")).to_have_text("Done")
    async with page.expect_download() as exported:
        await page.get_by_role("link", name="Download").click()
    target = tmp_path / "by-main-manager.csv"
    await (await exported.value).save_as(target)
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [theirs["id"]], lines

    # "Any of its managers" finds both: one where the colleague is main manager, one where a manager.
    await page.get_by_role("button", name="Remove").first.click()
    manager = page.get_by_role("combobox", name="Any of its managers")
    await manager.press_sequentially(f"izn-{tag}", delay=20)
    await page.get_by_role("option", name=f"izn-{tag}").first.click()
    await expect(page.locator(".field[data-field='main_manager'] .picker-chip")).to_have_count(0)
    await page.get_by_role("button", name="Export").click()
    await expect(page.locator(".job-state")).to_have_text("Done")
    async with page.expect_download() as exported:
        await page.get_by_role("link", name="Download").click()
    target = tmp_path / "by-manager.csv"
    await (await exported.value).save_as(target)
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted([theirs["id"], mine["id"]]), lines
