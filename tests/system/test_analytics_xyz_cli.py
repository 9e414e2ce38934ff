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


def test_report_backtests_as_csv_and_json_and_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, file = tmp_path / "var", tmp_path / "sales.csv"
    file.write_text(
        "id,date,customer,quantity,revenue\n"
        "S-1,2026-01-05,C1,1,100.00\n"
        "S-2,2026-02-05,C1,1,100.00\n"
        "S-3,2026-01-07,C2,1,50.00\n"
        "S-4,2026-02-07,C2,1,250.00\n"
        "S-5,2026-02-09,C3,1,20.00\n",
        encoding="utf-8",
    )
    assert main(["import", "trade-facts", str(file), "--data-dir", str(data)]) == 0
    capsys.readouterr()

    args = ["report", "xyz-backtest", "--to", "2026-02-15", "--runs", "2", "--periods", "2", "--data-dir", str(data)]
    assert main([*args, "--format", "json"]) == 0
    january, february = json.loads(capsys.readouterr().out)
    assert (january["to"], january["from"], january["as_of"], january["customers"]) == (
        "2026-01-31",
        "2025-12-01",
        None,
        2,
    )
    assert (january["one-time"], january["value_one-time"], january["kept_share"]) == (2, "150.00", None)
    # February's window value 520.00: 500.00 from January's one-time customers, K3's 20.00 new.
    assert (january["next_share_one-time"], january["next_share_new"], january["moved_new_to_X"]) == (
        "96.15",
        "3.85",
        None,
    )
    assert (february["regular"], february["X"], february["Z"], february["kept_share"]) == (2, 1, 1, "0.00")
    assert (february["moved_one-time_to_X"], february["moved_new_to_one-time"], february["next_share_X"]) == (
        1,
        1,
        None,
    )
    assert main(args) == 0
    out, err = capsys.readouterr()
    header, *lines = out.splitlines()
    assert header.startswith("to,from,as_of,customers,potential,one-time,regular,lost,X,Y,Z,value_potential,")
    assert len(header.split(",")) == 11 + 6 + 1 + 7 + 42 and len(lines) == 2
    assert "2 runs at month ends to 2026-02-28" in err

    abc = ["report", "abc-backtest", "--to", "2026-02-15", "--periods", "2", "--data-dir", str(data)]
    assert main([*abc, "--format", "json"]) == 0
    first, second = json.loads(capsys.readouterr().out)
    # January: C1 100 and C2 50, both A (C2's 33 % is above C + B = 30 %); February: C3's 20 new, C.
    assert (first["from"], first["to"], first["customers_A"], first["value_A"]) == (
        "2026-01-01",
        "2026-01-31",
        2,
        "150.00",
    )
    assert (first["next_share_A"], first["next_share_new"], first["moved_A_to_A"]) == ("94.59", "5.41", None)
    assert (second["moved_A_to_A"], second["moved_new_to_C"], second["next_share_A"]) == (2, 1, None)

    for command, extra, named in (
        ("xyz-backtest", ["--runs", "1"], "--runs:"),
        ("xyz-backtest", ["--x", "30"], "--y:"),
        ("abc-backtest", ["--periods", "40"], "--periods:"),
        ("abc-backtest", ["--shares", "50/50/50"], "--shares:"),
    ):
        assert main(["report", command, "--to", "2026-02-15", "--data-dir", str(data), *extra]) == 2, extra
        assert named in capsys.readouterr().err, extra
    with pytest.raises(SystemExit):
        main(["report", "xyz-backtest", "--to", "2026-02-15", "--step", "week", "--data-dir", str(data)])
