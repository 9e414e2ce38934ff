"""The CSV form of counterparties, shared by import and export: columns, encodings, delimiters, and
one row's text checked field by field.

A file starts with a header row naming its columns (any case, any order). ``name`` is required; the
others are optional, and a column that is absent leaves that detail alone when a row updates an
existing counterparty:

=========================  ====================================================================
column                     value
=========================  ====================================================================
id                         the counterparty's id (export writes it; a row with it changes that one)
name                       the name (required in every row)
relations                  ``buyer``, ``supplier`` and/or ``other``, separated by ``|`` (default other)
legal_form                 ``legal`` or ``natural`` (default legal)
tax_id, vat_id             tax number, VAT number
group, region, source      codes of the ``groups``, ``regions`` and ``sources`` catalogs
source_date                the date of the source (YYYY-MM-DD; default: the day of the import)
head_counterparty_id       the id of the head of its holding
comment                    free text
activity_kinds, categories codes of their catalogs, separated by ``|``
main_manager, managers     user ids (main_manager defaults to the importing user; managers ``|``-separated)
main_manager_name,         the managers' names, beside their ids (export writes them from the local copy
managers_names             of the user directory; import ignores them)
access_group               its access group (default ``general``); must be one of the importer's
contact:<kind>             values of one contact kind (e.g. ``contact:phone``), ``|``-separated, main first
property:<code>            the value of one property (numbers, ``true``/``false``, dates as YYYY-MM-DD)
erp_code                   its customer codes in the ERP (external codes of system ``erp``), ``|``-separated
external_codes             its codes in other systems, each ``system:code`` (``sap-bg:0000104711``), ``|``-separated
person_first_name,         one contact person of the counterparty: names (a first or last name is
person_middle_name,        required when any ``person_*`` cell is filled), position there, role (a code
person_last_name,          of the ``person-roles`` catalog), e-mail and phone (``|``-separated)
person_position,
person_role, person_email,
person_phone
=========================  ====================================================================

``erp_code`` sets the codes of the ERP and ``external_codes`` those of every other system: a row that
updates a counterparty leaves the codes of a column the file does not have alone.

Several persons of one counterparty are several rows of that counterparty (same ``id`` or tax id),
one person each; only the first of those rows imports the counterparty's own columns.

Files are UTF-8 (with or without a byte order mark) or Windows-1251; the delimiter is ``,``, ``;`` or
a tab, whichever makes sense of the header. Every multi-valued cell separates its values with ``|``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from crm_contacts.application.counterparties.validation import RawContact
from crm_contacts.domain import counterparty as cp
from crm_contacts.domain.reference import is_code
from crm_shared.errors import DomainError

LIST_SEPARATOR = "|"
CONTACT_PREFIX = "contact:"
PROPERTY_PREFIX = "property:"
FIXED_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "relations",
    "legal_form",
    "tax_id",
    "vat_id",
    "group",
    "head_counterparty_id",
    "region",
    "comment",
    "activity_kinds",
    "main_manager",
    "main_manager_name",
    "managers",
    "managers_names",
    "access_group",
    "categories",
    "source",
    "source_date",
    "erp_code",
    "external_codes",
)
"""The columns every export writes, in this order (then ``contact:*`` and ``property:*``)."""
NAME_COLUMNS: dict[str, str] = {"main_manager_name": "main_manager", "managers_names": "managers"}
"""Columns of the names of users whose ids another column holds: written by exports, ignored by imports."""
PERSON_COLUMNS: tuple[str, ...] = (
    "person_first_name",
    "person_middle_name",
    "person_last_name",
    "person_position",
    "person_role",
    "person_email",
    "person_phone",
)
"""Optional columns of one contact person per row (import only)."""
PERSON_CONTACT_KINDS = {"person_email": "email", "person_phone": "phone"}
"""The contact kind each person contact column holds."""
REQUIRED = "name"
DELIMITERS = (",", ";", "\t")
MAX_NAME = 200
MAX_USER = 100
MAX_VALUES = 100
_CHUNK = 1 << 20

_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_TAX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,31}$")
# Letters of the Cyrillic block, and what Windows-1251 text also holds: typographic quotes and dashes,
# the numero sign, the no-break space, the euro sign and the like.
_CYRILLIC_TEXT = re.compile(
    r"[\u0400-\u04ff\u00a0\u00ab\u00bb\u00a7\u00a9\u00ae\u00b0\u00b1\u00b5\u00b7"
    r"\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2116\u20ac\u2122]"
)
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_MIXED = re.compile(r"[A-Za-z][\u0400-\u04ff]|[\u0400-\u04ff][A-Za-z]")


class FileRejected(Exception):
    """The whole file cannot be imported (encoding, header); nothing is written."""


class CellRejected(Exception):
    """One value of a row is wrong: the row is rejected with this column and reason."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


# -- the file ------------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` when the whole file is UTF-8, else ``cp1251`` when it decodes as such and reads
    like Cyrillic text; otherwise :class:`FileRejected`."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with path.open("rb") as raw:
        try:
            while chunk := raw.read(_CHUNK):
                if b"\x00" in chunk:
                    raise FileRejected("the file contains NUL bytes: it is not a CSV text file")
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError as exc:
            bad = offset + exc.start
    foreign = typical = letters = mixed = 0
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            try:
                text = chunk.decode("cp1251")
            except UnicodeDecodeError:
                raise FileRejected(
                    f"the file is neither UTF-8 nor Windows-1251 (byte {bad} is not valid UTF-8)"
                ) from None
            foreign += len(_NON_ASCII.findall(text))
            typical += len(_CYRILLIC_TEXT.findall(text))
            letters += len(_CYRILLIC_LETTER.findall(text))
            mixed += len(_MIXED.findall(text))
    # Any byte over 0xC0 is a Cyrillic letter in Windows-1251, so accented Latin text (Latin-1, UTF-16
    # halves...) decodes too; but then its "Cyrillic" letters sit inside Latin words.
    if not letters or typical < 0.9 * foreign or mixed > 0.05 * letters:
        raise FileRejected(
            f"the file is not UTF-8 (byte {bad} is not valid UTF-8) and does not read as Windows-1251 Cyrillic text;"
            " save it as UTF-8"
        )
    return "cp1251"


@dataclass(frozen=True, slots=True)
class Header:
    """The columns of a file, normalised (lower case), in file order."""

    columns: tuple[str, ...]

    @property
    def contact_kinds(self) -> tuple[str, ...]:
        """The contact kinds that have a column."""
        return tuple(c.removeprefix(CONTACT_PREFIX) for c in self.columns if c.startswith(CONTACT_PREFIX))

    @property
    def properties(self) -> tuple[str, ...]:
        """The properties that have a column."""
        return tuple(c.removeprefix(PROPERTY_PREFIX) for c in self.columns if c.startswith(PROPERTY_PREFIX))


def _column_problem(name: str) -> str | None:
    if name in FIXED_COLUMNS or name in PERSON_COLUMNS:
        return None
    for prefix, what in ((CONTACT_PREFIX, "contact kind"), (PROPERTY_PREFIX, "property")):
        if name.startswith(prefix):
            return None if is_code(name.removeprefix(prefix)) else f"{name!r} (not a {what} code)"
    return repr(name)


def parse_header(cells: Sequence[str]) -> Header:
    """The header of a file, or :class:`FileRejected` naming unknown, repeated or missing columns."""
    names = tuple(cell.strip().lstrip("\ufeff").lower() for cell in cells)
    if any(not n for n in names):
        raise FileRejected(f"column {names.index('') + 1} of the header has no name")
    unknown = [p for p in (_column_problem(n) for n in names) if p is not None]
    if unknown:
        raise FileRejected(
            f"unknown column(s): {', '.join(unknown)}; the columns are {', '.join(FIXED_COLUMNS)},"
            f" {CONTACT_PREFIX}<kind>, {PROPERTY_PREFIX}<code> and {', '.join(PERSON_COLUMNS)}"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise FileRejected(f"repeated column(s): {', '.join(repeated)}")
    if REQUIRED not in names:
        raise FileRejected(f"the required column {REQUIRED!r} is missing")
    return Header(names)


def sniff_delimiter(first_line: str) -> str:
    """The delimiter under which the header names the most known columns (then: the most columns)."""

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        names = [c.strip().lstrip("\ufeff").lower() for c in cells]
        return sum(1 for n in names if _column_problem(n) is None), len(cells)

    return max(DELIMITERS, key=score)


@dataclass(frozen=True, slots=True)
class CsvFile:
    """What a first pass over a file found: how to read it, its header, its number of rows and a digest."""

    path: Path
    encoding: str
    delimiter: str
    header: Header
    rows: int
    digest: str

    def open(self) -> io.TextIOWrapper:
        """The file as text, ready for :func:`records`."""
        return self.path.open(encoding=self.encoding, newline="")


def scan(path: Path) -> CsvFile:
    """Check the encoding and the header, count the rows (blocking: run it in a thread)."""
    encoding = detect_encoding(path)
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(_CHUNK):
            digest.update(chunk)
    with path.open(encoding=encoding, newline="") as text:
        first_line = text.readline()
        if not first_line.strip():
            raise FileRejected("the file is empty: the first line must name the columns")
        delimiter = sniff_delimiter(first_line)
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = parse_header(next(reader))
            rows = sum(1 for record in reader if record)
        except csv.Error as exc:
            raise FileRejected(f"line {reader.line_num}: {exc}") from exc
    return CsvFile(path, encoding, delimiter, header, rows, digest.hexdigest())


@dataclass(frozen=True, slots=True)
class Record:
    """One row as read: the physical line it starts on and its cells by column."""

    line: int
    cells: Mapping[str, str]
    problem: str | None = None
    """Set when the row cannot be read into the columns (too many values)."""


def raw_rows(text: io.TextIOBase, csv_file: CsvFile) -> Iterator[tuple[int, list[str]]]:
    """The rows after the header as read, with the line each starts on (quoted line breaks counted);
    blank rows are skipped. :func:`record_of` makes a :class:`Record` of one."""
    reader = csv.reader(text, delimiter=csv_file.delimiter)
    next(reader)
    end = reader.line_num
    for values in reader:
        line, end = end + 1, reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        yield line, values


def record_of(line: int, values: Sequence[str], columns: Sequence[str]) -> Record:
    """A row as read (see :func:`raw_rows`) under the header's ``columns``."""
    if len(values) > len(columns):
        return Record(line, {}, f"{len(values)} values, but the header has {len(columns)} columns")
    return Record(line, {c: v.strip() for c, v in zip(columns, values, strict=False)})


def records(text: io.TextIOBase, csv_file: CsvFile) -> Iterator[Record]:
    """The rows after the header, with the line each starts on (quoted line breaks counted)."""
    columns = csv_file.header.columns
    for line, values in raw_rows(text, csv_file):
        yield record_of(line, values, columns)


# -- one row ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowValues:
    """A row's values, each checked on its own; ``given`` names the columns the file has."""

    given: frozenset[str]
    name: str
    id: str | None = None
    relations: tuple[cp.Relation, ...] | None = None
    legal_form: cp.LegalForm | None = None
    tax_id: str | None = None
    vat_id: str | None = None
    group: str | None = None
    head_counterparty_id: str | None = None
    region: str | None = None
    comment: str = ""
    activity_kinds: tuple[str, ...] = ()
    main_manager: str | None = None
    managers: tuple[str, ...] = ()
    access_group: str | None = None
    categories: tuple[str, ...] = ()
    source: str | None = None
    source_date: date | None = None
    contacts: tuple[RawContact, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    """Property values as text; they are typed by their property's definition later."""
    person: RawPerson | None = None
    """The row's contact person, when any ``person_*`` cell is filled."""
    external_codes: tuple[cp.ExternalCode, ...] = ()
    """The codes of ``erp_code`` and ``external_codes``, checked."""
    digest: str = ""
    """A stable hash of the row's content (all columns but ``id`` and the person's)."""


@dataclass(frozen=True, slots=True)
class RawPerson:
    """A row's contact person, its values checked on their own (names, role code, sizes)."""

    first_name: str | None
    middle_name: str | None
    last_name: str | None
    position: str | None
    role: str | None
    contacts: tuple[RawContact, ...]
    """E-mail and phone entries; their column is ``person_<kind>``."""

    @property
    def key(self) -> str:
        """The name, normalised (case and spaces), that tells the persons of one counterparty apart."""
        return "|".join(
            " ".join((n or "").split()).casefold() for n in (self.first_name, self.middle_name, self.last_name)
        )


def _person(cells: Mapping[str, str]) -> RawPerson | None:
    if not any(cells.get(c) for c in PERSON_COLUMNS):
        return None
    names = [" ".join(cells.get(f"person_{n}_name", "").split()) or None for n in ("first", "middle", "last")]
    if not names[0] and not names[2]:
        column = "person_first_name" if "person_first_name" in cells else "person_last_name"
        raise CellRejected(column, "a contact person needs a first or last name")
    contacts: list[RawContact] = []
    for column, kind in PERSON_CONTACT_KINDS.items():
        values = list(dict.fromkeys(_split(cells.get(column, ""))))
        if len(values) > MAX_VALUES:
            raise CellRejected(column, f"at most {MAX_VALUES} values")
        contacts.extend(RawContact(kind, value, i == 0) for i, value in enumerate(values))
    return RawPerson(
        first_name=names[0],
        middle_name=names[1],
        last_name=names[2],
        position=cells.get("person_position") or None,
        role=_code("person_role", cells.get("person_role", "")),
        contacts=tuple(contacts),
    )


def _split(text: str) -> list[str]:
    return [v.strip() for v in text.split(LIST_SEPARATOR) if v.strip()]


def _codes(column: str, text: str) -> tuple[str, ...]:
    values = list(dict.fromkeys(_split(text)))
    if len(values) > MAX_VALUES:
        raise CellRejected(column, f"at most {MAX_VALUES} values")
    for value in values:
        if not is_code(value):
            raise CellRejected(column, f"{value!r} is not a code (lower-case Latin letters, digits, _ and -)")
    return tuple(values)


def _users(column: str, text: str) -> tuple[str, ...]:
    values = list(dict.fromkeys(_split(text)))
    if len(values) > MAX_VALUES:
        raise CellRejected(column, f"at most {MAX_VALUES} values")
    for value in values:
        if len(value) > MAX_USER:
            raise CellRejected(column, f"a user id has at most {MAX_USER} characters")
    return tuple(values)


def _code(column: str, text: str) -> str | None:
    if not text:
        return None
    if not is_code(text):
        raise CellRejected(column, f"{text!r} is not a code (lower-case Latin letters, digits, _ and -)")
    return text


def _pattern(column: str, text: str, pattern: re.Pattern[str], what: str) -> str | None:
    if not text:
        return None
    if not pattern.match(text):
        raise CellRejected(column, f"{text!r} is not {what}")
    return text


ERP_COLUMN = "erp_code"
CODES_COLUMN = "external_codes"


def _external_codes(cells: Mapping[str, str]) -> tuple[cp.ExternalCode, ...]:
    codes: list[cp.ExternalCode] = []
    for value in dict.fromkeys(_split(cells.get(ERP_COLUMN, ""))):
        codes.append(cp.ExternalCode(cp.DEFAULT_EXTERNAL_SYSTEM, value))
    for value in dict.fromkeys(_split(cells.get(CODES_COLUMN, ""))):
        system, colon, code = value.partition(":")
        if not colon or not code.strip():
            raise CellRejected(CODES_COLUMN, f"{value!r} is not system:code (e.g. sap-bg:0000104711)")
        if system == cp.DEFAULT_EXTERNAL_SYSTEM:
            raise CellRejected(CODES_COLUMN, f"codes of the ERP go in the {ERP_COLUMN} column")
        codes.append(cp.ExternalCode(system.strip(), code.strip()))
    try:
        return cp.external_codes(codes)
    except DomainError as exc:
        index = INDEX.search(exc.field or "")
        at = codes[int(index.group(1))] if index else None
        column = ERP_COLUMN if at is not None and at.system == cp.DEFAULT_EXTERNAL_SYSTEM else CODES_COLUMN
        raise CellRejected(column, str(exc) if at is None else f"{at.code!r}: {exc}") from None


INDEX = re.compile(r"\[(\d+)\]")


def codes_column(codes: Sequence[cp.ExternalCode], index: int) -> str:
    """The column of the ``index``-th of a row's codes (as :func:`_external_codes` lists them)."""
    if index < len(codes) and codes[index].system != cp.DEFAULT_EXTERNAL_SYSTEM:
        return CODES_COLUMN
    return ERP_COLUMN


def parse_row(record: Record) -> RowValues:
    """The row's values, or :class:`CellRejected` naming the first wrong column."""
    if record.problem is not None:
        raise CellRejected("", record.problem)
    cells = record.cells
    get = cells.get
    name = " ".join(get("name", "").split())
    if not name:
        raise CellRejected("name", "the name is empty")
    if len(name) > MAX_NAME:
        raise CellRejected("name", f"at most {MAX_NAME} characters")
    relations: tuple[cp.Relation, ...] | None = None
    if get("relations"):
        chosen = _split(cells["relations"])
        unknown = [r for r in chosen if r not in cp.RELATIONS]
        if unknown:
            raise CellRejected("relations", f"{unknown[0]!r} is not buyer, supplier or other")
        relations = tuple(r for r in cp.RELATIONS if r in chosen)
    legal_form = get("legal_form") or None
    if legal_form not in (None, "legal", "natural"):
        raise CellRejected("legal_form", f"{legal_form!r} is not legal or natural")
    comment = get("comment", "")
    if len(comment) > cp.MAX_COMMENT:
        raise CellRejected("comment", f"at most {cp.MAX_COMMENT} characters")
    main_manager = get("main_manager") or None
    if main_manager is not None and len(main_manager) > MAX_USER:
        raise CellRejected("main_manager", f"a user id has at most {MAX_USER} characters")
    source_date = None
    if get("source_date"):
        try:
            source_date = date.fromisoformat(cells["source_date"])
        except ValueError:
            raise CellRejected("source_date", f"{cells['source_date']!r} is not a date (YYYY-MM-DD)") from None
        if not get("source"):
            raise CellRejected("source_date", "a source date needs a source")
    contacts: list[RawContact] = []
    for column, text in cells.items():
        if column.startswith(CONTACT_PREFIX) and text:
            values = list(dict.fromkeys(_split(text)))
            if len(values) > MAX_VALUES:
                raise CellRejected(column, f"at most {MAX_VALUES} values")
            kind = column.removeprefix(CONTACT_PREFIX)
            contacts.extend(RawContact(kind, value, i == 0) for i, value in enumerate(values))
    person = _person(cells)
    content = sorted((c, v) for c, v in cells.items() if c != "id" and c not in PERSON_COLUMNS)
    return RowValues(
        given=frozenset(cells),
        name=name,
        id=_pattern("id", get("id", ""), _ID, "an id (Latin letters, digits and -)"),
        relations=relations,
        legal_form=legal_form,  # type: ignore[arg-type]
        tax_id=_pattern("tax_id", get("tax_id", ""), _TAX_ID, "a tax id (2-32 Latin letters, digits, spaces, -)"),
        vat_id=_pattern("vat_id", get("vat_id", ""), _TAX_ID, "a VAT id (2-32 Latin letters, digits, spaces, -)"),
        group=_code("group", get("group", "")),
        head_counterparty_id=_pattern(
            "head_counterparty_id", get("head_counterparty_id", ""), _ID, "an id (Latin letters, digits and -)"
        ),
        region=_code("region", get("region", "")),
        comment=comment,
        activity_kinds=_codes("activity_kinds", get("activity_kinds", "")),
        main_manager=main_manager,
        managers=_users("managers", get("managers", "")),
        access_group=_code("access_group", get("access_group", "")),
        categories=_codes("categories", get("categories", "")),
        source=_code("source", get("source", "")),
        source_date=source_date,
        contacts=tuple(contacts),
        properties={c.removeprefix(PROPERTY_PREFIX): v for c, v in cells.items() if c.startswith(PROPERTY_PREFIX)},
        person=person,
        external_codes=_external_codes(cells),
        digest=hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest(),
    )


_TRUE = {"true", "yes", "1", "да"}
_FALSE = {"false", "no", "0", "не"}


def property_value(text: str, value_type: str, column: str) -> Any:
    """A property's text as its type's value (None for an empty cell)."""
    if not text:
        return None
    match value_type:
        case "number":
            try:
                number = float(text.replace(",", ".")) if any(c in text for c in ".,eE") else int(text)
            except ValueError:
                raise CellRejected(column, f"{text!r} is not a number") from None
            return number
        case "boolean":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise CellRejected(column, f"{text!r} is not true or false")
    return text


# -- writing (export) ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_text(v) for v in value)
    return str(value)


def export_columns(contact_kinds: Sequence[str], properties: Sequence[str]) -> list[str]:
    """The header of an export: the fixed columns, then one per contact kind and property."""
    return [
        *FIXED_COLUMNS,
        *(f"{CONTACT_PREFIX}{k}" for k in contact_kinds),
        *(f"{PROPERTY_PREFIX}{p}" for p in properties),
    ]


def export_row(doc: Mapping[str, Any], columns: Sequence[str], names: Mapping[str, str] | None = None) -> list[str]:
    """One counterparty (a document of the counterparty view) as cells under ``columns``; ``names`` are
    users' display names by id, for the name columns (an unknown user's name is left empty)."""
    names = names or {}
    contacts: dict[str, list[str]] = {}
    for entry in sorted(doc.get("contact_info") or (), key=lambda e: not e.get("main")):
        contacts.setdefault(f"{CONTACT_PREFIX}{entry['kind']}", []).append(str(entry["value"]))
    properties = doc.get("properties") or {}
    row = []
    for column in columns:
        if column == "id":
            row.append(str(doc["_id"]))
        elif column == "source_date":
            row.append(_text(doc.get("source_on")))
        elif column == ERP_COLUMN:
            erp = [str(c["code"]) for c in doc.get("external_codes") or () if c["system"] == cp.DEFAULT_EXTERNAL_SYSTEM]
            row.append(LIST_SEPARATOR.join(erp))
        elif column == CODES_COLUMN:
            others = doc.get("external_codes") or ()
            row.append(
                LIST_SEPARATOR.join(
                    f"{c['system']}:{c['code']}" for c in others if c["system"] != cp.DEFAULT_EXTERNAL_SYSTEM
                )
            )
        elif column in NAME_COLUMNS:
            ids = doc.get(NAME_COLUMNS[column])
            listed = ids if isinstance(ids, list | tuple) else [] if ids is None else [ids]
            row.append(LIST_SEPARATOR.join(names.get(str(i), "") for i in listed))
        elif column.startswith(CONTACT_PREFIX):
            row.append(LIST_SEPARATOR.join(contacts.get(column, ())))
        elif column.startswith(PROPERTY_PREFIX):
            row.append(_text(properties.get(column.removeprefix(PROPERTY_PREFIX))))
        else:
            row.append(_text(doc.get(column)))
    return row
