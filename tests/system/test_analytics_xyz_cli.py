"""``crm report xyz`` on a data directory: stages and XYZ classes as CSV and JSON, bad arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.cli import main


def test_report_xyz_as_csv_and_json_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, file = tmp_path / "var", tmp_path / "sales.csv"
    file.write_text(
        "id,date,customer,quantity,revenue,kind\n"
        "S-1,2026-01-05,C1,2,100.00,\n"
        "S-2,2026-02-05,C1,2,110.00,\n"
        "S-3,2026-03-05,C1,2,90.00,\n"
        "S-4,2026-01-10,C2,1,100.00,\n"
        "S-5,2026-01-11,C2,1,50.00,return\n"
        "S-6,2026-03-21,C2,5,40.00,\n"
        "S-7,2026-03-31,C3,1,10.00,\n"
        "S-8,2025-06-05,C4,1,10.00,\n"
        "S-9,2025-07-05,C4,1,10.00,\n"
        "S-10,2025-06-05,C5,1,10.00,return\n",
        encoding="utf-8",
    )
    assert main(["import", "trade-facts", str(file), "--data-dir", str(data)]) == 0
    capsys.readouterr()

    args = ["report", "xyz", "--to", "2026-03-31", "--periods", "3", "--data-dir", str(data)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    # C1 100, 110, 90: population sd 8.1650 / mean 100 → X. C2 50, 0, 40 → Z.
    assert out.splitlines() == [
        "customer,counterparty_id,stage,class,coefficient,mean,total,values,active_periods",
        "C1,,regular,X,8.1650,100.0000,300.00,3,3",
        "C2,,regular,Z,72.0082,30.0000,90.00,3,2",
        "C3,,one-time,,141.4214,3.3333,10.00,3,1",
        "C4,,lost,,,0.0000,0.00,3,0",
        "C5,,potential,,,0.0000,0.00,3,0",
    ]
    assert "5 customers, 3 month periods from 2026-01-01 to 2026-03-31" in err

    assert main([*args, "--by", "quantity", "--periodicity", "quarter", "--periods", "2", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    # Quarters: C1 0 then 6; C2 0 then 1 - 1 + 5 = 5; C4 had sales in 2025-Q2 and Q3: active in neither.
    assert rows[0] == {
        "customer": "C1",
        "counterparty_id": None,
        "stage": "one-time",
        "class": None,
        "coefficient": "100.0000",
        "mean": "3.0000",
        "total": "6.000",
        "values": 2,
        "active_periods": 1,
    }
    assert [(r["customer"], r["stage"]) for r in rows] == [
        ("C1", "one-time"),
        ("C2", "one-time"),
        ("C3", "one-time"),
        ("C4", "lost"),
        ("C5", "potential"),
    ]

    base = ["report", "xyz", "--to", "2026-03-31", "--data-dir", str(data)]
    for extra, named in (
        (["--periods", "1"], "--periods:"),
        (["--x", "30"], "--y:"),
        (["--x", "ten"], "--x:"),
        (["--regular-periods", "9"], "--regular-periods:"),
        (["--currency", "eur"], "--currency:"),
    ):
        assert main([*base, *extra]) == 2, extra
        assert named in capsys.readouterr().err, extra
    for extra in (["--periodicity", "fortnight"], ["--by", "margin"]):
        with pytest.raises(SystemExit):
            main([*base, *extra])
    with pytest.raises(SystemExit):
        main(["report", "xyz", "--data-dir", str(data)])  # --to is required
