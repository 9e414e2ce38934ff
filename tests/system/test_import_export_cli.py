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


def test_export_writes_the_file_and_says_when_the_views_lag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, target = tmp_path / "var", tmp_path / "out.csv"
    file = tmp_path / "clients.csv"
    file.write_text("name\nАлфа\n", encoding="utf-8")
    assert main(["import", "counterparties", str(file), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["export", "counterparties", str(target), "--data-dir", str(data), "--relation", "buyer"]) == 0
    err = capsys.readouterr().err
    assert "the views are behind the event log" in err  # no `crm up` ran to project the import
    assert target.read_text(encoding="utf-8-sig").startswith("id,name,relations,")
    assert main(["import", "counterparties", str(tmp_path / "missing.csv"), "--data-dir", str(data)]) == 2
