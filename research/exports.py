"""Research exports: one dataset of the store, in CSV, Excel or Parquet, with its codebook
(variable, label, type, values, suppression marker).

* CSV: a zip with ``data.csv`` and ``codebook.csv`` (UTF-8, comma-separated, empty field =
  missing or suppressed, booleans ``true``/``false``).
* Excel: one workbook, sheet ``data`` and sheet ``codebook``.
* Parquet: a zip with ``data.parquet`` (each field's label in its metadata, the refresh, k
  and filters in the file's metadata) and ``codebook.csv``.

Exports contain exactly the store's rows (``research.selectors``): pseudonyms, codes and
numbers, never a name, an address, a date or free text. ``research.services.export_create``
builds them and logs every one.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from implementation.models import ActivityMode, Stage
from tenants.validators import COUNTIES

from . import selectors
from .models import CellLevel, SizeBand
from .selectors import Filters

STRING = "string"
INTEGER = "integer"
DECIMAL = "decimal"
BOOLEAN = "boolean"

NOT_SUPPRESSED = _("never suppressed")
SUPPRESSED_EMPTY = _(
    "empty when suppressed = true (fewer than k respondents, or hidden so "
    "that a small group cannot be worked out from totals)"
)
MISSING_EMPTY = _("never suppressed; empty = not measured")


@dataclass(frozen=True)
class Variable:
    name: str
    label: Promise | str
    kind: str
    values: Promise | str | Callable[[], str]
    suppression: Promise | str = NOT_SUPPRESSED


@dataclass(frozen=True)
class Dataset:
    code: str
    title: Promise | str
    variables: tuple[Variable, ...]
    rows: Callable[[Filters], QuerySet[Any]]

    @property
    def fields(self) -> list[str]:
        return [v.name for v in self.variables]


def _codes(pairs: Iterable[tuple[str, Any]]) -> str:
    return "; ".join(f"{code} = {label}" for code, label in pairs)


def _county_values() -> str:
    return _codes(sorted(COUNTIES.items()))


def _band_values() -> str:
    return _codes((band.value, band.label) for band in SizeBand)


def _stage_values() -> str:
    return _codes((stage.value, stage.label) for stage in Stage)


def _mode_values() -> str:
    return _codes((mode.value, mode.label) for mode in ActivityMode)


def _level_values() -> str:
    return _codes((level.value, level.label) for level in CellLevel)


SCHOOL = Variable(
    "school",
    _("school (pseudonym)"),
    STRING,
    _(
        "S- and 12 hex digits: keyed hash of the school; the same at every refresh while the "
        "key is unchanged"
    ),
)
MUNICIPALITY = Variable(
    "municipality",
    _("municipality (pseudonym)"),
    STRING,
    _("K- and 12 hex digits: keyed hash of the municipality"),
)
COUNTY = Variable("county", _("county"), STRING, _county_values)
SIZE_BAND = Variable(
    "size_band", _("municipality size band (pupils of all its schools)"), STRING, _band_values
)
ROUND = Variable(
    "round",
    _("assessment round (pseudonym)"),
    STRING,
    _("R- and 12 hex digits: keyed hash of the round"),
)
SEMESTER = Variable(
    "semester",
    _("semester of the round"),
    STRING,
    _("YYYYV = spring (round opened January–June), YYYYH = autumn (July–December)"),
)
SEMESTER_INDEX = Variable(
    "semester_index",
    _("semester as a number"),
    INTEGER,
    _("year × 2, + 1 for autumn: consecutive semesters differ by 1"),
)
MODEL_VERSION = Variable("model_version", _("SoVei model version"), STRING, _("e.g. 1.0"))
MODULE = Variable(
    "module_number",
    _("module of the model"),
    INTEGER,
    _("1–5 in version 1.0 (see the catalog); empty = all modules (overall)"),
)
SCHOOL_VARIABLES = (SCHOOL, MUNICIPALITY, COUNTY, SIZE_BAND)


FIDELITY = Dataset(
    "fidelity",
    _("Fidelity self-assessment per school, round and module"),
    (
        *SCHOOL_VARIABLES,
        ROUND,
        SEMESTER,
        SEMESTER_INDEX,
        MODEL_VERSION,
        MODULE,
        Variable("points", _("points (0 not in place, 1 partly, 2 in place)"), INTEGER, "≥ 0"),
        Variable("max_points", _("maximum points (2 × rated components)"), INTEGER, "≥ 0"),
        Variable("rated_count", _("components rated"), INTEGER, "≥ 0"),
        Variable("unrated_count", _("adopted components left unrated"), INTEGER, "≥ 0"),
        Variable(
            "percent",
            _("fidelity % (points / max points × 100)"),
            DECIMAL,
            _("0–100, 1 decimal"),
            MISSING_EMPTY,
        ),
        Variable(
            "threshold_percent",
            _("fidelity threshold of the model version"),
            INTEGER,
            "0–100",
        ),
        Variable(
            "meets_threshold",
            _("fidelity at or above the threshold"),
            BOOLEAN,
            "true / false",
            MISSING_EMPTY,
        ),
    ),
    selectors.fidelity_facts,
)

STAGES = Dataset(
    "stages",
    _("Implementation stages (NIRN, scored as SIC) per school and module"),
    (
        *SCHOOL_VARIABLES,
        MODEL_VERSION,
        Variable("module_number", _("module of the model"), INTEGER, _("1–5 in version 1.0")),
        Variable("stage", _("implementation stage"), STRING, _stage_values),
        Variable("stage_order", _("stage order"), INTEGER, "1–5"),
        Variable(
            "entered_semester",
            _("semester the stage was entered"),
            STRING,
            _("YYYYV / YYYYH"),
            MISSING_EMPTY,
        ),
        Variable(
            "exited_semester",
            _("semester the stage was left"),
            STRING,
            _("YYYYV / YYYYH; empty = not left"),
            MISSING_EMPTY,
        ),
        Variable("ongoing", _("stage entered and not left"), BOOLEAN, "true / false"),
        Variable(
            "days",
            _("days in the stage (until left, or until the refresh)"),
            INTEGER,
            "≥ 0",
            MISSING_EMPTY,
        ),
        Variable("steps_total", _("strategy steps of the stage (not cancelled)"), INTEGER, "≥ 0"),
        Variable("steps_done", _("strategy steps done"), INTEGER, "≥ 0"),
        Variable("steps_cancelled", _("strategy steps cancelled"), INTEGER, "≥ 0"),
        Variable(
            "steps_share",
            _("share of steps done"),
            DECIMAL,
            _("0–1, 2 decimals"),
            MISSING_EMPTY,
        ),
        Variable(
            "is_furthest",
            _("the school's current (latest entered) stage of the module"),
            BOOLEAN,
            "true / false",
        ),
    ),
    selectors.stage_facts,
)

OUTCOMES = Dataset(
    "outcomes",
    _("Implementation outcomes (AIM, IAM, FIM, SUS), protected cells"),
    (
        Variable("level", _("group of schools the cell pools"), STRING, _level_values),
        SEMESTER,
        SEMESTER_INDEX,
        MODEL_VERSION,
        Variable(
            "instrument",
            _("instrument"),
            STRING,
            _(
                "aim = acceptability, iam = appropriateness, fim = feasibility (mean of 4 "
                "items, 1–5); sus = System Usability Scale (0–100)"
            ),
        ),
        Variable(
            "county",
            _("county"),
            STRING,
            lambda: f"{_county_values()}; " + str(_("empty for all schools and size bands")),
        ),
        Variable(
            "size_band",
            SIZE_BAND.label,
            STRING,
            lambda: f"{_band_values()}; " + str(_("empty for all schools and counties")),
        ),
        Variable(
            "municipality",
            MUNICIPALITY.label,
            STRING,
            _("empty above the municipality level"),
        ),
        Variable("school", SCHOOL.label, STRING, _("empty above the school level")),
        Variable("n", _("complete respondents"), INTEGER, _("≥ k when shown"), SUPPRESSED_EMPTY),
        Variable("mean", _("mean score"), DECIMAL, _("2 decimals (SUS 1)"), SUPPRESSED_EMPTY),
        Variable(
            "sd",
            _("standard deviation (sample)"),
            DECIMAL,
            _("2 decimals (SUS 1); empty for n < 2"),
            SUPPRESSED_EMPTY,
        ),
        Variable(
            "suppressed",
            _("cell suppressed by disclosure control"),
            BOOLEAN,
            "true / false",
        ),
    ),
    selectors.outcome_cells,
)

DETERMINANTS = Dataset(
    "determinants",
    _("Determinants (CFIR 2.0 team rating) per school, round and construct or domain"),
    (
        *SCHOOL_VARIABLES,
        ROUND,
        SEMESTER,
        SEMESTER_INDEX,
        MODEL_VERSION,
        Variable("level", _("construct or domain"), STRING, "construct; domain"),
        Variable("code", _("CFIR code (catalog)"), STRING, _("e.g. I.A, III.D; domains I–V")),
        Variable("domain_code", _("CFIR domain"), STRING, "I–V"),
        Variable("position", _("catalog order"), INTEGER, "≥ 0"),
        Variable("n_rated", _("rated items (constructs for a domain)"), INTEGER, "≥ 0"),
        Variable("n_missing", _("items left unrated"), INTEGER, "≥ 0"),
        Variable(
            "mean",
            _("mean rating"),
            DECIMAL,
            _("−2 strong barrier … 0 neutral … +2 strong facilitator, 2 decimals"),
            MISSING_EMPTY,
        ),
    ),
    selectors.cfir_facts,
)

TIME_USE = Dataset(
    "time_use",
    _("Time use: share of logged social-work time per school, semester, module and mode"),
    (
        *SCHOOL_VARIABLES,
        Variable(
            "semester",
            _("semester of the activities"),
            STRING,
            _("YYYYV = January–June, YYYYH = July–December"),
        ),
        SEMESTER_INDEX,
        MODEL_VERSION,
        Variable("module_number", _("module of the model"), INTEGER, _("1–5 in version 1.0")),
        Variable("mode", _("mode of work"), STRING, _mode_values),
        Variable(
            "share_percent",
            _("share of the school's logged time in the semester (%)"),
            DECIMAL,
            _("0–100, 1 decimal; the rows of a school and semester add up to 100"),
        ),
    ),
    selectors.time_use_facts,
)

DATASETS: dict[str, Dataset] = {
    dataset.code: dataset for dataset in (FIDELITY, STAGES, OUTCOMES, DETERMINANTS, TIME_USE)
}
FORMATS = {
    "csv": ("application/zip", "csv.zip"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/zip", "parquet.zip"),
}

CODEBOOK_HEADER = ("variable", "label", "type", "values", "suppression_marker")


def codebook_rows(dataset: Dataset) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            variable.name,
            str(variable.label),
            variable.kind,
            variable.values() if callable(variable.values) else str(variable.values),
            str(variable.suppression),
        )
        for variable in dataset.variables
    ]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    row_count: int


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_text(value) for value in row])
        count += 1
    return buffer.getvalue().encode("utf-8"), count


def _zip(files: Sequence[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def build_csv(dataset: Dataset, rows: Iterable[Sequence[Any]]) -> tuple[bytes, int]:
    """Rows are written straight into the compressed zip: memory is the compressed size."""
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.csv", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(dataset.fields)
            for row in rows:
                writer.writerow([_text(value) for value in row])
                count += 1
            text.flush()
            text.detach()
        codebook, _count = _csv_bytes(CODEBOOK_HEADER, codebook_rows(dataset))
        archive.writestr("codebook.csv", codebook)
    return buffer.getvalue(), count


def build_xlsx(dataset: Dataset, rows: Iterable[Sequence[Any]]) -> tuple[bytes, int]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)  # streams rows to a temporary file
    data = workbook.create_sheet("data")
    data.append(dataset.fields)
    count = 0
    for row in rows:
        data.append([_cell(value) for value in row])
        count += 1
    codebook = workbook.create_sheet("codebook")
    codebook.append(list(CODEBOOK_HEADER))
    for entry in codebook_rows(dataset):
        codebook.append(list(entry))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


PARQUET_ROW_GROUP = 50_000


def build_parquet(
    dataset: Dataset, rows: Iterable[Sequence[Any]], metadata: dict[str, Any]
) -> tuple[bytes, int]:
    """Written in row groups of 50,000 rows: memory stays bounded for any size."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {STRING: pa.string(), INTEGER: pa.int64(), DECIMAL: pa.float64(), BOOLEAN: pa.bool_()}
    schema = pa.schema(
        [
            pa.field(v.name, kinds[v.kind], metadata={"label": str(v.label)})
            for v in dataset.variables
        ],
        metadata={"sovei": json.dumps(metadata, ensure_ascii=False)},
    )
    sink = pa.BufferOutputStream()
    count = 0
    columns: list[list[Any]] = [[] for _v in dataset.variables]

    def flush(writer: Any) -> None:
        arrays = [
            pa.array(values, type=field.type) for values, field in zip(columns, schema, strict=True)
        ]
        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
        for values in columns:
            values.clear()

    with pq.ParquetWriter(sink, schema) as writer:
        for row in rows:
            for index, value in enumerate(row):
                columns[index].append(_cell(value))
            count += 1
            if len(columns[0]) >= PARQUET_ROW_GROUP:
                flush(writer)
        if columns[0] or count == 0:
            flush(writer)
    codebook, _count = _csv_bytes(CODEBOOK_HEADER, codebook_rows(dataset))
    return _zip([("data.parquet", sink.getvalue().to_pybytes()), ("codebook.csv", codebook)]), count


EXCEL_MAX_ROWS = 1_048_575  # a worksheet holds 1,048,576 rows, one of them the header


class ExportTooLarge(ValueError):
    """More rows than the format can hold."""


def build(
    dataset: Dataset, file_format: str, filters: Filters, metadata: dict[str, Any]
) -> ExportFile:
    queryset = dataset.rows(filters)
    if file_format == "xlsx" and queryset.count() > EXCEL_MAX_ROWS:
        raise ExportTooLarge(
            _(
                "More than %(max)s rows: Excel cannot hold them. Choose a round or a county, "
                "or export CSV or Parquet."
            )
            % {"max": f"{EXCEL_MAX_ROWS:,}"}
        )
    rows = queryset.values_list(*dataset.fields).iterator(chunk_size=5000)
    if file_format == "csv":
        content, count = build_csv(dataset, rows)
    elif file_format == "xlsx":
        content, count = build_xlsx(dataset, rows)
    elif file_format == "parquet":
        content, count = build_parquet(dataset, rows, metadata)
    else:
        raise ValueError(f"Unknown export format {file_format!r}")
    content_type, extension = FORMATS[file_format]
    refresh = metadata.get("refresh") or "empty"
    return ExportFile(
        filename=f"sovei-research-{dataset.code}-r{refresh}.{extension}",
        content_type=content_type,
        content=content,
        row_count=count,
    )
