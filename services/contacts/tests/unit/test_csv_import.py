"""Reading counterparty CSV files: encodings, delimiters, headers, line numbers, and each value's checks."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from crm_contacts.application.csv_columns import (
    FIXED_COLUMNS,
    CellRejected,
    FileRejected,
    Record,
    export_columns,
    export_row,
    parse_header,
    parse_row,
    property_value,
    records,
    scan,
    sniff_delimiter,
)
from crm_contacts.application.imports import column_of, counterparty_id_of, event_id, person_column, person_id_of
from crm_shared.http import HttpProblem
from crm_shared.jobs_http import BadUpload, file_part


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    return path


# -- encodings -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_a_byte_order_mark(tmp_path: Path, bom: bytes) -> None:
    found = scan(write(tmp_path, bom + "Name,tax_id\nФирма Алфа,BG1\n".encode()))
    assert found.encoding == "utf-8-sig"
    assert found.header.columns == ("name", "tax_id")
    with found.open() as text:
        assert [r.cells["name"] for r in records(text, found)] == ["Фирма Алфа"]


def test_windows_1251_cyrillic_is_recognised(tmp_path: Path) -> None:
    found = scan(write(tmp_path, "name;comment\nФирма „Бета“ ЕООД;№ 5 – доставчик\n".encode("cp1251")))
    assert found.encoding == "cp1251"
    with found.open() as text:
        [row] = list(records(text, found))
    assert row.cells == {"name": "Фирма „Бета“ ЕООД", "comment": "№ 5 – доставчик"}


@pytest.mark.parametrize(
    "data",
    [
        "name\nCafé Zürich Straße\n".encode("latin-1"),  # not UTF-8, and not Cyrillic text either
        b"name\n\x89PNG\r\n\x1a\n\xff\xd8\xff\xe0\x98\x98",  # binary
    ],
)
def test_text_that_is_neither_utf8_nor_cyrillic_is_rejected_with_the_byte(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(FileRejected, match=r"not UTF-8|neither UTF-8"):
        scan(write(tmp_path, data))


def test_nul_bytes_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="NUL"):
        scan(write(tmp_path, b"name\nA\x00B\n"))


def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="empty"):
        scan(write(tmp_path, b"\n\n"))


# -- delimiters and header -------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    header = delimiter.join(["NAME", "Tax_Id", "comment"])
    found = scan(write(tmp_path, f'{header}\nA{delimiter}BG1{delimiter}"x, y; z"\n'.encode()))
    assert found.delimiter == delimiter
    with found.open() as text:
        [row] = list(records(text, found))
    assert row.cells == {"name": "A", "tax_id": "BG1", "comment": "x, y; z"}


def test_sniffing_prefers_the_delimiter_that_names_known_columns() -> None:
    assert sniff_delimiter("name;comment,with comma\n") == ";"
    assert sniff_delimiter("name\n") == ","


def test_unknown_columns_are_all_named() -> None:
    with pytest.raises(FileRejected) as raised:
        parse_header(["name", "colour", "contact:Not A Code", "size"])
    message = str(raised.value)
    assert "'colour'" in message and "'size'" in message and "contact:not a code" in message


def test_missing_name_column_and_repeated_columns_are_rejected() -> None:
    with pytest.raises(FileRejected, match="required column 'name'"):
        parse_header(["tax_id", "comment"])
    with pytest.raises(FileRejected, match=r"repeated column.*tax_id"):
        parse_header(["name", "Tax_ID", "tax_id"])
    with pytest.raises(FileRejected, match="column 2 of the header has no name"):
        parse_header(["name", " "])


def test_contact_and_property_columns_are_recognised() -> None:
    header = parse_header(["Name", "contact:phone", "contact:email", "property:size"])
    assert header.contact_kinds == ("phone", "email")
    assert header.properties == ("size",)


# -- rows and their lines --------------------------------------------------------------------------


def test_line_numbers_are_physical_lines_counting_quoted_line_breaks(tmp_path: Path) -> None:
    data = 'name,comment\nA,"first\nsecond\r\nthird"\n\nB,x\n"C\nD",y\n'
    found = scan(write(tmp_path, data.encode()))
    assert found.rows == 3
    with found.open() as text:
        rows = list(records(text, found))
    assert [(r.line, r.cells["name"]) for r in rows] == [(2, "A"), (6, "B"), (7, "C\nD")]


def test_a_row_with_more_values_than_columns_is_a_problem_and_short_rows_are_padded(tmp_path: Path) -> None:
    found = scan(write(tmp_path, b"name,tax_id\nA,BG1,extra\nB\n"))
    with found.open() as text:
        too_many, short = list(records(text, found))
    with pytest.raises(CellRejected, match="3 values, but the header has 2 columns"):
        parse_row(too_many)
    assert short.cells == {"name": "B"}


def row(**cells: str) -> Record:
    return Record(2, {"name": "Фирма", **cells})


def test_a_full_row_is_read_into_its_values() -> None:
    values = parse_row(
        row(
            id="abc-1",
            relations="supplier | buyer",
            legal_form="natural",
            tax_id="BG 123-456",
            vat_id="BG123456",
            group="wholesale",
            head_counterparty_id="head-1",
            region="sofia",
            comment="hi",
            activity_kinds="retail|retail|food",
            main_manager="ivan",
            managers="maria|ivan",
            access_group="north",
            categories="vip",
            source="fair",
            source_date="2026-03-01",
            **{"contact:phone": "0888 123 456 | 02 987 6543", "property:size": "12"},
        )
    )
    assert values.relations == ("buyer", "supplier")
    assert values.activity_kinds == ("retail", "food")
    assert values.comment == "hi"
    assert values.source_date == date(2026, 3, 1)
    assert [(c.kind, c.value, c.main) for c in values.contacts] == [
        ("phone", "0888 123 456", True),
        ("phone", "02 987 6543", False),
    ]
    assert values.properties == {"size": "12"}
    assert "tax_id" in values.given and "vat_id" in values.given


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        ({"name": "  "}, "name", "empty"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"id": "a b"}, "id", "not an id"),
        ({"relations": "buyer|customer"}, "relations", "'customer' is not buyer"),
        ({"legal_form": "company"}, "legal_form", "not legal or natural"),
        ({"tax_id": "BG/123"}, "tax_id", "not a tax id"),
        ({"vat_id": "-12"}, "vat_id", "not a VAT id"),
        ({"group": "Wholesale"}, "group", "not a code"),
        ({"head_counterparty_id": "x/y"}, "head_counterparty_id", "not an id"),
        ({"region": "so fia"}, "region", "not a code"),
        ({"comment": "c" * 2001}, "comment", "at most 2000"),
        ({"activity_kinds": "ok|Not OK"}, "activity_kinds", "not a code"),
        ({"main_manager": "m" * 101}, "main_manager", "at most 100"),
        ({"managers": "a|" + "m" * 101}, "managers", "at most 100"),
        ({"access_group": "North!"}, "access_group", "not a code"),
        ({"categories": "|".join(f"c{i}" for i in range(101))}, "categories", "at most 100 values"),
        ({"source": "the fair"}, "source", "not a code"),
        ({"source": "fair", "source_date": "01.03.2026"}, "source_date", "not a date"),
        ({"source_date": "2026-03-01"}, "source_date", "needs a source"),
        ({"contact:phone": "|".join(str(i) for i in range(101))}, "contact:phone", "at most 100 values"),
        ({"person_first_name": " ", "person_position": "Driver"}, "person_first_name", "first or last name"),
        ({"person_email": "a@b.bg"}, "person_last_name", "first or last name"),
        ({"person_last_name": "Петров", "person_role": "Decision Maker"}, "person_role", "not a code"),
    ],
)
def test_each_value_is_checked_naming_its_column(cells: dict[str, str], column: str, reason: str) -> None:
    with pytest.raises(CellRejected, match=reason) as raised:
        parse_row(Record(5, {"name": "Фирма", **cells}))
    assert raised.value.column == column


@pytest.mark.parametrize(
    ("text", "value_type", "value"),
    [
        ("12", "number", 12),
        ("12,5", "number", 12.5),
        ("да", "boolean", True),
        ("No", "boolean", False),
        ("2026-01-31", "date", "2026-01-31"),
        ("", "string", None),
        ("red", "choice", "red"),
    ],
)
def test_property_values_are_typed_by_their_property(text: str, value_type: str, value: object) -> None:
    assert property_value(text, value_type, "property:p") == value


@pytest.mark.parametrize(("text", "value_type"), [("twelve", "number"), ("maybe", "boolean")])
def test_property_values_that_do_not_fit_are_rejected(text: str, value_type: str) -> None:
    with pytest.raises(CellRejected) as raised:
        property_value(text, value_type, "property:p")
    assert raised.value.column == "property:p"


# -- identities ------------------------------------------------------------------------------------


def test_the_counterparty_id_follows_from_the_id_then_the_tax_id_then_the_content() -> None:
    assert counterparty_id_of(parse_row(row(id="given-1", tax_id="BG1"))) == "given-1"
    assert counterparty_id_of(parse_row(row(tax_id="bg 123-45"))) == counterparty_id_of(
        parse_row(row(tax_id="BG12345", comment="other content"))
    )
    same = counterparty_id_of(parse_row(row(comment="x")))
    assert same == counterparty_id_of(parse_row(row(comment="x")))
    assert same != counterparty_id_of(parse_row(row(comment="y")))
    uuid.UUID(same)


def test_event_ids_are_deterministic_and_ascend_with_the_lines() -> None:
    digest = "ab" * 32
    ids = [str(event_id(digest, line, index)) for line in (2, 3, 1_000_000, 2**35) for index in (0, 1, 2)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert event_id(digest, 7, 1) == event_id(digest, 7, 1)
    assert event_id(digest, 7, 1) != event_id("cd" * 32, 7, 1)
    assert event_id(digest, 7, 1).version == 8


def test_command_fields_map_back_to_columns() -> None:
    values = parse_row(row(**{"contact:email": "a@b.bg", "contact:phone": "0888123456"}))
    kinds = [c.kind for c in values.contacts]
    assert column_of(f"contact_info[{kinds.index('phone')}].value", values) == "contact:phone"
    assert column_of("properties.size") == "property:size"
    assert column_of("categories[3]") == "categories"
    assert column_of("group") == "group"
    assert column_of(None) == ""


# -- export rows -----------------------------------------------------------------------------------


def test_a_rows_contact_person_is_read_and_keeps_the_counterparty_the_same() -> None:
    assert parse_header(["name", "tax_id", "person_first_name", "person_phone"]).columns[2] == "person_first_name"
    plain = parse_row(Record(2, {"name": "Фирма", "person_first_name": "", "person_last_name": ""}))
    assert plain.person is None
    values = parse_row(
        Record(
            3,
            {
                "name": "Фирма",
                "person_first_name": " Иван ",
                "person_last_name": "Петров",
                "person_position": "Управител",
                "person_role": "decision-maker",
                "person_email": "ivan@firma.bg",
                "person_phone": "0888123456|029876543",
            },
        )
    )
    assert values.person is not None
    person = values.person
    assert (person.first_name, person.middle_name, person.last_name) == ("Иван", None, "Петров")
    assert (person.position, person.role) == ("Управител", "decision-maker")
    assert [(c.kind, c.value, c.main) for c in person.contacts] == [
        ("email", "ivan@firma.bg", True),
        ("phone", "0888123456", True),
        ("phone", "029876543", False),
    ]
    assert counterparty_id_of(values) == counterparty_id_of(plain)  # persons do not change the counterparty
    other = parse_row(Record(4, {"name": "Фирма", "person_first_name": "ИВАН", "person_last_name": " петров"}))
    assert other.person is not None
    assert person_id_of("c-1", other.person) == person_id_of("c-1", person) != person_id_of("c-2", person)
    assert person_column("contact_info[2].value", person) == "person_phone"
    assert person_column("links[0].role", person) == "person_role"
    assert person_column("last_name", person) == "person_last_name"


def test_an_exported_row_reads_back_into_the_same_values() -> None:
    doc = {
        "_id": "c-1",
        "name": "Фирма; „Алфа“, АД",
        "relations": ["buyer", "supplier"],
        "legal_form": "legal",
        "tax_id": "BG1",
        "main_manager": "ivan",
        "managers": ["ivan", "maria"],
        "access_group": "general",
        "categories": ["vip"],
        "source": "fair",
        "source_on": "2026-03-01",
        "contact_info": [
            {"kind": "phone", "type": "phone", "value": "+35929876543", "main": False},
            {"kind": "phone", "type": "phone", "value": "+359888123456", "main": True},
        ],
        "properties": {"size": 12, "active": True},
    }
    columns = export_columns(["email", "phone"], ["active", "size"])
    assert columns[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows([columns, export_row(doc, columns)])
    text = out.getvalue()
    reader = csv.reader(io.StringIO(text), delimiter=";")
    header = parse_header(next(reader))
    values = parse_row(Record(2, dict(zip(header.columns, next(reader), strict=True))))
    assert values.id == "c-1" and values.name == "Фирма; „Алфа“, АД"
    assert values.relations == ("buyer", "supplier") and values.managers == ("ivan", "maria")
    assert [(c.value, c.main) for c in values.contacts] == [("+359888123456", True), ("+35929876543", False)]
    assert values.properties == {"active": "true", "size": "12"}
    assert values.source == "fair" and values.source_date == date(2026, 3, 1)


# -- multipart uploads -----------------------------------------------------------------------------


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("size", [1, 7, 4096])
async def test_the_file_part_of_a_multipart_body_is_streamed_out(size: int) -> None:
    content = b"name\r\nA\r\n--not-the-boundary\r\n" * 50
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="clients.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--XyZ--\r\n"
    )
    names: list[str] = []
    out = b"".join([c async for c in file_part(chunks_of(body, size), b"XyZ", 10_000, names.append)])
    assert names == ["clients.csv"]
    assert out == content


async def test_a_multipart_body_without_a_file_or_over_the_limit_is_refused() -> None:
    no_file = b'--B\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--B--\r\n'
    with pytest.raises(BadUpload):
        [c async for c in file_part(chunks_of(no_file, 5), b"B", 100, lambda name: None)]
    big = b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n' + b"x" * 500 + b"\r\n--B--"
    with pytest.raises(HttpProblem) as raised:
        [c async for c in file_part(chunks_of(big, 64), b"B", 100, lambda name: None)]
    assert raised.value.status == 413
