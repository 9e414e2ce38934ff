"""``crm report managers``, ``effectiveness`` and ``attribution`` on a data directory: the rows of their
HTTP routes' CSV on the same data, ``--as-of``, and bad options named with exit code 2."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.system.conftest import EmbeddedCrm

from crm.cli import main

pytestmark = pytest.mark.system

ANALYTICS = "/api/v1/analytics"


async def story(crm: httpx.AsyncClient) -> None:
    """A buyer of ivan's (ERP code R-1) with a completed call, and one of maria's (R-2) without."""
    ids = []
    for code, manager in (("R-1", "ivan"), ("R-2", "maria")):
        made = await crm.post(
            "/api/v1/counterparties",
            json={
                "name": f"Купувач {code}",
                "relations": ["buyer"],
                "main_manager": manager,
                "access_group": "general",
                "external_codes": [{"system": "erp", "code": code}],
            },
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    start = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    planned = await crm.post(
        "/api/v1/interactions",
        json={"kind": "call", "direction": "outgoing", "subject": "Offer", "start": start, "counterparty_id": ids[0]},
    )
    assert planned.status_code == 201, planned.text
    done = await crm.post(f"/api/v1/interactions/{planned.json()['id']}/complete", json={"outcome": "Order"})
    assert done.status_code == 200, done.text


async def route_csv(crm: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[list[str]]:
    got = await crm.get(f"{ANALYTICS}/{path}.csv", params=params)
    assert got.status_code == 200, got.text
    return list(csv.reader(io.StringIO(got.text.removeprefix("\ufeff"))))


async def command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert await asyncio.to_thread(main, list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr()


async def test_reports_give_the_rows_of_their_routes(embedded: EmbeddedCrm, capsys: pytest.CaptureFixture[str]) -> None:
    data, facts = embedded.data_dir, embedded.data_dir.parent / "sales.csv"
    day = datetime.now(UTC).date() + timedelta(days=2)
    facts.write_text(
        "id,date,customer,quantity,revenue,kind,revenue_without_vat,cost,discount\n"
        f"S-1,{day},R-1,2,700.00,,600.00,100.00,35.00\n"
        f"S-2,{day},R-2,1,220.50,,180.00,150.00,\n"
        f"S-3,{day},X-9,1,100.01,,90.00,10.00,0.99\n",
        encoding="utf-8",
    )
    before_import = datetime.now(UTC)
    await command(capsys, "import", "trade-facts", str(facts), "--data-dir", str(data))

    crm = await embedded.start()
    await story(crm)
    period = {"from": str(day - timedelta(days=3)), "to": str(day + timedelta(days=3))}
    async with asyncio.timeout(30):  # the call and both buyers reach analytics through the bus
        while True:  # (two topics: the call may arrive before a buyer's registration)
            managers = {row[0] for row in (await route_csv(crm, "managers", period))[1:]}
            if (await route_csv(crm, "attribution", period))[1][0] == "call" and {"ivan", "maria"} <= managers:
                break
            await asyncio.sleep(0.2)
    routes = {
        "managers": await route_csv(crm, "managers", period),
        "effectiveness": await route_csv(crm, "effectiveness", {**period, "by": "manager"}),
        "attribution": await route_csv(crm, "attribution", {**period, "model": "time_decay", "by": "manager"}),
    }
    await embedded.stop()

    span = ["--from", period["from"], "--to", period["to"], "--data-dir", str(data)]
    asked = {
        "managers": [],
        "effectiveness": ["--by", "manager"],
        "attribution": ["--model", "time_decay", "--by", "manager"],
    }
    for name, options in asked.items():
        out, err = await command(capsys, "report", name, *span, *options)
        assert list(csv.reader(io.StringIO(out))) == routes[name], name
        assert f"crm report {name}: {len(routes[name]) - 1} " in err, err
    # What the rows are, so that equal-but-empty reports cannot pass. The call's responsible: the admin.
    admin = routes["effectiveness"][1][0]
    assert routes["managers"][0][:5] == ["manager", "revenue", "cost", "discounts", "deals"]
    assert routes["managers"][0][24] == "interactions"
    assert [r[:5] + r[24:25] for r in routes["managers"][1:]] == [
        ["ivan", "700.00", "100.00", "35.00", "1", "0"],
        ["maria", "220.50", "150.00", "0.00", "1", "0"],
        ["", "100.01", "10.00", "0.99", "1", "0"],
        [admin, "0.00", "0.00", "0.00", "0", "1"],
    ]
    assert routes["effectiveness"][1:] == [[admin, "1", "1", "100.00", "700.00", "500.00"]]
    assert routes["attribution"][1:] == [
        [admin, "false", "700.00", "500.00", "68.5932", "1"],
        ["", "true", "320.51", "110.00", "31.4068", "2"],
    ]

    out, _ = await command(capsys, "report", "attribution", *span, "--by", "manager", "--format", "json")
    assert json.loads(out) == [
        {"key": admin, "no_touch": False, "revenue": "700.00", "profit": "500.00", "share": "68.5932", "sales": 1},
        {"key": None, "no_touch": True, "revenue": "320.51", "profit": "110.00", "share": "31.4068", "sales": 2},
    ]
    # As of before the import and the call: no fact and no interaction was known.
    out, err = await command(
        capsys, "report", "managers", *span, "--as-of", before_import.isoformat(), "--format", "json"
    )
    assert [r["revenue"] for r in json.loads(out)] == [], out
    assert "0 managers" in err


@pytest.mark.parametrize(
    ("report", "options", "named"),
    [
        ("managers", ["--to", "2026-01-01"], "--to:"),
        ("effectiveness", ["--window-days", "367"], "--window-days:"),
        ("attribution", ["--lookback-days", "731"], "--lookback-days:"),
        ("attribution", ["--half-life-days", "0"], "--half-life-days:"),
    ],
)
def test_bad_values_name_their_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: str, options: list[str], named: str
) -> None:
    base = ["report", report, "--from", "2026-02-01", "--to", "2026-02-28", "--data-dir", str(tmp_path)]
    assert main([*base, *options]) == 2
    assert f"crm report {report}: {named}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("report", "options", "named"),
    [
        ("managers", ["--credit", "later"], "--credit"),
        ("managers", ["--as-of", "yesterday"], "--as-of"),
        ("managers", ["--from", "1969-12-31"], "--from"),
        ("effectiveness", ["--by", "colour"], "--by"),
        ("attribution", ["--model", "u_shape"], "--model"),
        ("attribution", ["--as-of", "2150-01-01T00:00:00+00:00"], "--as-of"),
    ],
)
def test_unreadable_options_stop_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report: str, options: list[str], named: str
) -> None:
    base = ["report", report, "--from", "2026-02-01", "--to", "2026-02-28", "--data-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as stopped:
        main([*base, *options])
    assert stopped.value.code == 2
    assert f"argument {named}" in capsys.readouterr().err
