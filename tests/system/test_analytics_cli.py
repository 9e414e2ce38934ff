"""``crm import trade-facts`` and ``crm report abc`` on a data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.cli import main


def test_import_trade_facts_then_report_abc_as_csv_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, file = tmp_path / "var", tmp_path / "sales.csv"
    file.write_text(
        "id,date,customer,quantity,revenue,kind,revenue_without_vat,cost\n"
        "S-1,2026-01-05,C1,2,700.00,,600.00,100.00\n"
        "S-2,2026-01-06,C2,1,220.50,,180.00,150.00\n"
        "S-3,2026-01-07,C3,1,100.00,,90.00,10.00\n"
        "S-4,2026-01-08,C2,1,20.50,return,18.00,0\n"
        "S-5,2026-01-09,C4,1,1.005,,,\n",
        encoding="utf-8",
    )
    assert main(["import", "trade-facts", str(file), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "imported 5/5 rows: 4 accepted, 1 rejected" in err
    report = Path(err.split("see ")[-1].strip())
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("6,revenue,")

    # The same file again: nothing counts twice.
    assert main(["import", "trade-facts", str(file), "--data-dir", str(data)]) == 1
    capsys.readouterr()

    args = ["report", "abc", "--from", "2026-01-01", "--to", "2026-01-31", "--data-dir", str(data)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "place,customer,counterparty_id,value,cumulative_share,class",
        "1,C1,,700.00,100.0000,A",
        "2,C2,,200.00,30.0000,B",
        "3,C3,,100.00,10.0000,C",
    ]
    assert "3 customers" in err

    assert main([*args, "--by", "profit", "--shares", "80/15/5", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {
        "place": 1,
        "customer": "C1",
        "counterparty_id": None,
        "value": "500.00",
        "cumulative_share": "100.0000",
        "class": "A",
    }
    assert [(r["customer"], r["value"], r["class"]) for r in rows[1:]] == [("C3", "80.00", "B"), ("C2", "12.00", "C")]


def test_bad_arguments_and_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["report", "abc", "--from", "2026-01-01", "--to", "2026-01-31", "--data-dir", str(tmp_path)]
    assert main([*base, "--shares", "70/20/20"]) == 2
    assert "--shares: the shares must sum to 100" in capsys.readouterr().err
    assert main(["report", "abc", "--from", "2026-02-01", "--to", "2026-01-31", "--data-dir", str(tmp_path)]) == 2
    assert "--to:" in capsys.readouterr().err
    assert main([*base, "--currency", "eur"]) == 2
    assert "--currency:" in capsys.readouterr().err
    assert main(["import", "trade-facts", str(tmp_path / "none.csv"), "--data-dir", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main([*base, "--by", "margin"])


def test_import_currency_rates_converts_facts_in_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, rates, facts = tmp_path / "var", tmp_path / "rates.csv", tmp_path / "sales.csv"
    rates.write_text(
        "currency,date,rate\nUSD,2026-01-01,0.9\nUSD,2026-01-10,0\nUSD,2026-01-15,0.95\n", encoding="utf-8"
    )
    facts.write_text(
        "id,date,customer,quantity,revenue,currency\n"
        "S-1,2026-01-05,C1,1,100.00,USD\n"  # 90.00
        "S-2,2026-01-20,C2,1,100.00,USD\n"  # 95.00
        "S-3,2026-01-20,C3,1,94.00,EUR\n",
        encoding="utf-8",
    )
    assert main(["import", "currency-rates", str(rates), "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert "imported 3/3 rows: 2 accepted, 1 rejected" in err
    report = Path(err.split("see ")[-1].strip())
    assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3,rate,")
    assert main(["import", "trade-facts", str(facts), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    args = ["report", "abc", "--from", "2026-01-01", "--to", "2026-01-31", "--data-dir", str(data)]
    assert main([*args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["customer"], r["value"]) for r in rows] == [("C2", "95.00"), ("C3", "94.00"), ("C1", "90.00")]
    assert main([*args, "--currency", "USD"]) == 2
    assert "--currency: must be the reporting currency EUR" in capsys.readouterr().err
