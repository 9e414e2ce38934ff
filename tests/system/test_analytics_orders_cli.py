"""``crm import orders`` and ``crm import payments`` on a data directory: progress on stderr, the report
of rejected rows saved, exit 1 when rows were rejected, and a file imported again counting once."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from crm.cli import main
from crm_analytics import bootstrap
from crm_shared.settings import KernelSettings


async def rows(data: Path, sql: str) -> list[dict[str, Any]]:
    service = await bootstrap.build(KernelSettings(data_dir=data))
    try:
        return await service.analytics.query(sql)
    finally:
        await service.close()


def test_import_orders_and_payments_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, orders, payments = tmp_path / "var", tmp_path / "orders.csv", tmp_path / "payments.csv"
    orders.write_text(
        "id,date,customer,amount,due_date,manager\n"
        "O-1,2026-01-05,C1,700.00,2026-02-04,Ivan\n"
        "O-2,2026-01-06,C2,220.50,,\n"
        "O-3,2026-01-07,C3,1.005,,\n",
        encoding="utf-8",
    )
    payments.write_text("id,date,customer,order_id,amount\nP-1,2026-01-20,C1,O-1,300.00\nP-2,2026-01-21,C9,,5\n")
    for _ in range(2):  # the same files again: nothing counts twice
        assert main(["import", "orders", str(orders), "--data-dir", str(data)]) == 1
        err = capsys.readouterr().err
        assert "imported 3/3 rows: 2 accepted, 1 rejected" in err
        report = Path(err.split("see ")[-1].strip())
        assert report.read_text(encoding="utf-8-sig").splitlines()[1].startswith("4,amount,")
        assert main(["import", "payments", str(payments), "--data-dir", str(data)]) == 0
        assert "imported 2/2 rows: 2 accepted, 0 rejected" in capsys.readouterr().err

    stored = asyncio.run(rows(data, "SELECT id, amount, due_date FROM orders FINAL ORDER BY id"))
    assert stored == [
        {"id": "O-1", "amount": Decimal("700.00"), "due_date": date(2026, 2, 4)},
        {"id": "O-2", "amount": Decimal("220.50"), "due_date": date(2026, 1, 6)},
    ]
    stored = asyncio.run(rows(data, "SELECT id, order_id, amount FROM payments FINAL ORDER BY id"))
    assert stored == [
        {"id": "P-1", "order_id": "O-1", "amount": Decimal("300.00")},
        {"id": "P-2", "order_id": "", "amount": Decimal("5.00")},
    ]
    assert main(["import", "payments", str(tmp_path / "none.csv"), "--data-dir", str(data)]) == 2
