"""``crm import counterparties`` and ``crm export counterparties`` on a data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.cli import main


def test_import_reports_rejected_rows_and_exits_1_then_a_clean_rerun_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    file = tmp_path / "clients.csv"
    file.write_text("name;tax_id\nАлфа;BG1\nБета;BG1\nГама;BG3\n", encoding="utf-8")
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "imported 3/3 rows: 2 accepted, 1 rejected, 0 unchanged" in err
    report = Path(err.split("see ")[-1].strip())
    assert report.is_file()
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3,tax_id,the same counterparty as line 2")

    file.write_text("name;tax_id\nАлфа;BG1\nГама;BG3\n", encoding="utf-8")
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    assert "0 accepted, 0 rejected, 2 unchanged" in capsys.readouterr().err


def test_export_brings_the_views_up_to_date_and_writes_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, target = tmp_path / "var", tmp_path / "out.csv"
    file = tmp_path / "clients.csv"
    file.write_text("name;relations\nАлфа;buyer\nБета;supplier\n", encoding="utf-8")
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["export", "counterparties", str(target), "--data-dir", str(data), "--relation", "buyer"]) == 0
    assert "1 counterparties written" in capsys.readouterr().err  # no `crm up` ran to project the import
    exported = target.read_text(encoding="utf-8-sig").splitlines()
    assert exported[0].startswith("id,name,relations,") and "Алфа" in exported[1]
    assert main(["import", "counterparties", str(tmp_path / "missing.csv"), "--data-dir", str(data)]) == 2


def test_contact_persons_are_imported_and_linked_without_crm_up_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    file = tmp_path / "people.csv"
    file.write_text(
        "name;tax_id;person_first_name;person_last_name;person_position;person_email\n"
        "Алфа;BG11;Иван;Петров;Управител;ivan@alfa.bg\n"
        "Алфа;BG11;Мария;Иванова;Счетоводител;\n",
        encoding="utf-8",
    )
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    assert "2 accepted, 0 rejected" in capsys.readouterr().err
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    assert "0 accepted, 0 rejected, 2 unchanged" in capsys.readouterr().err
    target = tmp_path / "people.vcf"
    assert main(["export", "counterparties", str(target), "--data-dir", str(data), "--format", "vcard"]) == 0
    cards = target.read_text(encoding="utf-8")
    assert cards.count("BEGIN:VCARD") == 2 and "ivan@alfa.bg" in cards
