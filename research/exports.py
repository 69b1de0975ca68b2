"""Research exports: one dataset of the store, in CSV, Excel or Parquet, with its codebook
(variable, label, type, values, suppression marker).

* CSV: a zip with ``data.csv``, ``codebook.csv`` and ``metadata.csv`` (UTF-8,
  comma-separated, empty field = see the codebook's ``empty_means``, booleans
  ``true``/``false``).
* Excel: one workbook, sheets ``data``, ``codebook`` and ``metadata``.
* Parquet: a zip with ``data.parquet`` (each field's codebook entry in its field metadata,
  the export's metadata in the file's), ``codebook.csv`` and ``metadata.csv``.

The codebook has, per variable: label, type, unit, values (codes or range), formula and
what an empty field means; the metadata: the publication, the semester it runs through,
k, k_staff, the release delay, the filters and the dataset's pooling rule.

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

NEVER_EMPTY = _("never empty")
EMPTY_NOT_MEASURED = _("empty = not measured")


@dataclass(frozen=True)
class Variable:
    """One column and its codebook entry: what it is (label), its type, unit and values
    (codes or range), how it is computed (formula, pooling) and what an empty field
    means."""

    name: str
    label: Promise | str
    kind: str
    values: Promise | str | Callable[[], str]
    formula: Promise | str = ""
    unit: Promise | str = ""
    empty: Promise | str = NEVER_EMPTY


@dataclass(frozen=True)
class Dataset:
    code: str
    title: Promise | str
    variables: tuple[Variable, ...]
    rows: Callable[[Filters], QuerySet[Any]]
    pooling: Promise | str

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
        "S- and 12 hex digits: keyed hash of the school; the same at every publication while "
        "the key is unchanged"
    ),
)
MUNICIPALITY = Variable(
    "municipality",
    _("municipality (pseudonym)"),
    STRING,
    _("K- and 12 hex digits: keyed hash of the municipality"),
)
COUNTY = Variable("county", _("county (of the municipality)"), STRING, _county_values)
SIZE_BAND = Variable(
    "size_band",
    _("municipality size band"),
    STRING,
    _band_values,
    _("pupils of all the municipality's schools (a school without a count counts 0)"),
    _("pupils"),
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
    _("YYYYV = spring, YYYYH = autumn"),
    _("the semester of the day the round opened (V: January–June, H: July–December)"),
)
SEMESTER_INDEX = Variable(
    "semester_index",
    _("semester as a number"),
    INTEGER,
    _("year × 2, + 1 for autumn: consecutive semesters differ by 1"),
    _("year × 2 + (1 if autumn else 0)"),
    _("semesters"),
)
MODEL_VERSION = Variable("model_version", _("SoVei model version"), STRING, _("e.g. 1.0"))
MODULE = Variable(
    "module_number",
    _("module of the model"),
    INTEGER,
    _("1–5 in version 1.0 (see the catalog)"),
    empty=_("empty = all modules (overall)"),
)
SCHOOL_VARIABLES = (SCHOOL, MUNICIPALITY, COUNTY, SIZE_BAND)

INSTRUMENT_FORMULA = _(
    "a respondent's score: AIM, IAM, FIM = mean of the instrument's 4 items (1 completely "
    "disagree … 5 completely agree); SUS = 2.5 × (Σ(odd item − 1) + Σ(5 − even item)) over "
    "its 10 items (1–5), 0–100; only respondents who answered every item count"
)
CELL_LEVEL = Variable("level", _("which schools the cell pools"), STRING, _level_values)


def _cell_key_variables(semester: Variable) -> tuple[Variable, ...]:
    return (
        CELL_LEVEL,
        semester,
        SEMESTER_INDEX,
        MODEL_VERSION,
    )


CELL_GROUP_VARIABLES = (
    Variable(
        "county",
        _("county"),
        STRING,
        _county_values,
        empty=_("empty for all schools and size bands"),
    ),
    Variable(
        "size_band",
        SIZE_BAND.label,
        STRING,
        _band_values,
        empty=_("empty for all schools and counties"),
    ),
    Variable(
        "municipality",
        MUNICIPALITY.label,
        STRING,
        MUNICIPALITY.values,
        empty=_("empty above the municipality level"),
    ),
    Variable(
        "school", SCHOOL.label, STRING, SCHOOL.values, empty=_("empty above the school level")
    ),
)


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
        Variable(
            "points",
            _("points"),
            INTEGER,
            "≥ 0",
            _(
                "Σ the team's ratings of the rated shared-model components: 0 not in place, "
                "1 partly in place, 2 in place; a component marked 'not started' counts 0"
            ),
            _("points"),
        ),
        Variable(
            "max_points", _("maximum points"), INTEGER, "≥ 0", _("2 × rated_count"), _("points")
        ),
        Variable(
            "rated_count",
            _("components rated"),
            INTEGER,
            "≥ 0",
            _("components rated 0–2, plus those marked 'not started' (scored 0)"),
            _("components"),
        ),
        Variable(
            "not_started_count",
            _("components marked 'not started' (scored 0)"),
            INTEGER,
            "≥ 0",
            unit=_("components"),
        ),
        Variable(
            "unrated_count",
            _("adopted components left unrated ('not applicable' or 'not assessed')"),
            INTEGER,
            "≥ 0",
            _("left out of points and max_points; they lower rated_share_percent"),
            _("components"),
        ),
        Variable(
            "percent",
            _("fidelity %"),
            DECIMAL,
            _("0–100, 1 decimal (half up)"),
            _(
                "points / max_points × 100; a module row over the module's components, the "
                "overall row (module empty) over all rated components (pooled, not the mean "
                "of the module percentages)"
            ),
            "%",
            _("empty when no component was rated"),
        ),
        Variable(
            "rated_share_percent",
            _("share of the adopted components rated"),
            DECIMAL,
            _("0–100, 1 decimal"),
            _("rated_count / (rated_count + unrated_count) × 100"),
            "%",
            _("empty when no component was adopted"),
        ),
        Variable(
            "min_rated_percent",
            _("smallest share rated for a measured score (model version)"),
            INTEGER,
            "0–100",
            unit="%",
        ),
        Variable(
            "measured",
            _("the score counts as measured"),
            BOOLEAN,
            "true / false",
            _("rated_count ≥ 1 and rated_share_percent ≥ min_rated_percent"),
        ),
        Variable(
            "threshold_percent",
            _("fidelity threshold of the model version"),
            INTEGER,
            "0–100",
            unit="%",
        ),
        Variable(
            "meets_threshold",
            _("fidelity at or above the threshold"),
            BOOLEAN,
            "true / false",
            _("points × 100 ≥ threshold_percent × max_points (exact, before rounding)"),
            empty=_("empty unless measured"),
        ),
    ),
    selectors.fidelity_facts,
    _(
        "none: one row per school, round and module (the team's own rating, not personal "
        "data); two rounds of a school in one semester are two rows"
    ),
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
            empty=_("empty = not entered by the end of the published semester"),
        ),
        Variable(
            "exited_semester",
            _("semester the stage was left"),
            STRING,
            _("YYYYV / YYYYH"),
            empty=_("empty = not left by the end of the published semester"),
        ),
        Variable(
            "ongoing",
            _("stage entered and not left"),
            BOOLEAN,
            "true / false",
            _("as of the last day of the published semester"),
        ),
        Variable(
            "semesters",
            _("semesters in the stage"),
            INTEGER,
            "≥ 0",
            _(
                "semester_index of the exit (or of the published semester while ongoing) − "
                "semester_index of the entry; no days are published (with the semesters they "
                "would give the dates)"
            ),
            _("semesters"),
            _("empty = not entered"),
        ),
        Variable(
            "steps_total",
            _("strategy steps of the stage (not cancelled)"),
            INTEGER,
            "≥ 0",
            unit=_("steps"),
        ),
        Variable("steps_done", _("strategy steps done"), INTEGER, "≥ 0", unit=_("steps")),
        Variable(
            "steps_cancelled", _("strategy steps cancelled"), INTEGER, "≥ 0", unit=_("steps")
        ),
        Variable(
            "steps_share",
            _("share of steps done"),
            DECIMAL,
            _("0–1, 2 decimals"),
            _("steps_done / steps_total"),
            _("share"),
            _("empty when the stage has no steps"),
        ),
        Variable(
            "is_furthest",
            _("the school's current stage of the module"),
            BOOLEAN,
            "true / false",
            _("the stage entered in the latest semester (ties: the later stage in NIRN order)"),
        ),
    ),
    selectors.stage_facts,
    _(
        "none: one row per school, module and stage, as of the last day of the latest "
        "published semester (counts of steps as of the publication)"
    ),
)

OUTCOMES = Dataset(
    "outcomes",
    _("Implementation outcomes (AIM, IAM, FIM, SUS) of released groups"),
    (
        *_cell_key_variables(SEMESTER),
        Variable(
            "instrument",
            _("instrument"),
            STRING,
            _(
                "aim = acceptability, iam = appropriateness, fim = feasibility (1–5); "
                "sus = System Usability Scale (0–100)"
            ),
            INSTRUMENT_FORMULA,
        ),
        *CELL_GROUP_VARIABLES,
        Variable(
            "n",
            _("complete respondents"),
            INTEGER,
            _("≥ k"),
            _("Σ n of the cell's released groups"),
            _("respondents"),
        ),
        Variable(
            "groups",
            _("released groups pooled"),
            INTEGER,
            "≥ 1",
            unit=_("groups"),
        ),
        Variable(
            "mean",
            _("mean score"),
            DECIMAL,
            _("AIM/IAM/FIM 1–5, 2 decimals; SUS 0–100, 1 decimal"),
            _("Σ scores / n, respondent-weighted over the cell's groups"),
            _("score points"),
        ),
        Variable(
            "sd",
            _("standard deviation (sample)"),
            DECIMAL,
            _("≥ 0; 2 decimals (SUS 1)"),
            "√((Σ score² − (Σ score)² / n) / (n − 1))",
            _("score points"),
            _("empty for n < 2"),
        ),
    ),
    selectors.outcome_cells,
    _(
        "respondent-weighted sums of released groups: a group is the complete answers of "
        "one school in one closed round when at least k answered, or of a municipality's "
        "other schools of the round together when they reach k; a school cell adds up the "
        "school's groups of every round in the semester (rounds of one semester are pooled), "
        "a municipality cell also its pooled group, higher levels their municipalities. "
        "Answers in no released group are not included. A respondent who answered two "
        "rounds of a semester counts twice."
    ),
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
        Variable(
            "n_rated",
            _("ratings behind the mean"),
            INTEGER,
            "≥ 0",
            _(
                "construct row: the construct's rated items (itself, or its rated "
                "subconstructs); domain row: the domain's constructs that have a rating"
            ),
            _("items (construct row) / constructs (domain row)"),
        ),
        Variable(
            "n_missing",
            _("left unrated"),
            INTEGER,
            "≥ 0",
            _(
                "construct row: its items left unrated; domain row: its constructs without "
                "any rating (constructs, not items)"
            ),
            _("items (construct row) / constructs (domain row)"),
        ),
        Variable(
            "mean",
            _("mean rating"),
            DECIMAL,
            _("−2 strong barrier … 0 neutral … +2 strong facilitator, 2 decimals"),
            _(
                "construct: its rating, or the mean of its rated subconstructs; domain: the "
                "mean of its constructs' means (each construct weighs the same)"
            ),
            _("rating points"),
            EMPTY_NOT_MEASURED,
        ),
    ),
    selectors.cfir_facts,
    _(
        "none: one row per school, round and construct or domain (the team's own rating, not "
        "personal data)"
    ),
)

TIME_USE = Dataset(
    "time_use",
    _("Time use of released time-use groups per semester, module and mode"),
    (
        *_cell_key_variables(
            Variable(
                "semester",
                _("semester of the activities"),
                STRING,
                _("YYYYV = January–June, YYYYH = July–December"),
                _("the semester of each activity's date"),
            )
        ),
        *CELL_GROUP_VARIABLES,
        Variable("module_number", _("module of the model"), INTEGER, _("1–5 in version 1.0")),
        Variable("mode", _("mode of work"), STRING, _mode_values),
        Variable(
            "staff",
            _("social-work staff behind the cell"),
            INTEGER,
            _("≥ k_staff"),
            _("Σ staff of the cell's time-use groups (someone in two groups counts twice)"),
            _("people"),
        ),
        Variable("groups", _("time-use groups pooled"), INTEGER, "≥ 1", unit=_("groups")),
        Variable(
            "share_percent",
            _("share of the cell's logged time"),
            DECIMAL,
            _("0–100, 1 decimal; the rows of one cell add up to 100 (± rounding)"),
            _("minutes in the module and mode / all minutes of the cell × 100"),
            "%",
        ),
    ),
    selectors.time_use_cells,
    _(
        "minute-weighted sums of released time-use groups: a group is one school's logged "
        "time in the semester when at least k_staff staff logged it, or a municipality's "
        "other schools together when they have at least k_staff staff even without the "
        "school with the most; a school cell is the school's group, higher levels add up "
        "their groups. Groups are formed once, when their semester is first published; "
        "time logged for it later is not included."
    ),
)

DATASETS: dict[str, Dataset] = {
    dataset.code: dataset for dataset in (FIDELITY, STAGES, OUTCOMES, DETERMINANTS, TIME_USE)
}
FORMATS = {
    "csv": ("application/zip", "csv.zip"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "parquet": ("application/zip", "parquet.zip"),
}

CODEBOOK_HEADER = ("variable", "label", "type", "unit", "values", "formula", "empty_means")
METADATA_HEADER = ("key", "value")


def codebook_rows(dataset: Dataset) -> list[tuple[str, ...]]:
    return [
        (
            variable.name,
            str(variable.label),
            variable.kind,
            str(variable.unit),
            variable.values() if callable(variable.values) else str(variable.values),
            str(variable.formula),
            str(variable.empty),
        )
        for variable in dataset.variables
    ]


def metadata_rows(dataset: Dataset, metadata: dict[str, Any]) -> list[tuple[str, str]]:
    """What every file of an export carries besides its rows: the publication, the rules
    (k, k_staff, delay) and the pooling rule, in words the codebook refers to."""
    filters = metadata.get("filters") or {}
    return [
        ("dataset", dataset.code),
        ("title", str(dataset.title)),
        ("publication", str(metadata.get("publication") or "")),
        ("through_semester", str(metadata.get("through_semester") or "")),
        ("k", str(metadata.get("min_group_size", ""))),
        ("k_staff", str(metadata.get("min_staff_group", ""))),
        ("release_delay_days", str(metadata.get("release_delay_days", ""))),
        ("filters", "; ".join(f"{key} = {value}" for key, value in sorted(filters.items()))),
        ("pooling", str(dataset.pooling)),
        (
            "k_rule",
            str(
                _(
                    "k: the smallest number of complete respondents in a released survey "
                    "group; k_staff: the smallest number of social-work staff in a released "
                    "time-use group. Every number of person-level data pools whole groups."
                )
            ),
        ),
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


def build_csv(
    dataset: Dataset, rows: Iterable[Sequence[Any]], metadata: dict[str, Any]
) -> tuple[bytes, int]:
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
        about, _count = _csv_bytes(METADATA_HEADER, metadata_rows(dataset, metadata))
        archive.writestr("metadata.csv", about)
    return buffer.getvalue(), count


def build_xlsx(
    dataset: Dataset, rows: Iterable[Sequence[Any]], metadata: dict[str, Any]
) -> tuple[bytes, int]:
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
    about = workbook.create_sheet("metadata")
    about.append(list(METADATA_HEADER))
    for pair in metadata_rows(dataset, metadata):
        about.append(list(pair))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


PARQUET_ROW_GROUP = 50_000


def build_parquet(
    dataset: Dataset, rows: Iterable[Sequence[Any]], metadata: dict[str, Any]
) -> tuple[bytes, int]:
    """Written in row groups of 50,000 rows: memory stays bounded for any size. Each
    field carries its codebook entry in its metadata, the file the export's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {STRING: pa.string(), INTEGER: pa.int64(), DECIMAL: pa.float64(), BOOLEAN: pa.bool_()}
    entries = {entry[0]: entry for entry in codebook_rows(dataset)}
    schema = pa.schema(
        [
            pa.field(
                v.name,
                kinds[v.kind],
                metadata=dict(zip(CODEBOOK_HEADER[1:], entries[v.name][1:], strict=True)),
            )
            for v in dataset.variables
        ],
        metadata={
            "sovei": json.dumps(
                dict(metadata_rows(dataset, metadata)), ensure_ascii=False
            )
        },
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
    about, _count = _csv_bytes(METADATA_HEADER, metadata_rows(dataset, metadata))
    return _zip(
        [
            ("data.parquet", sink.getvalue().to_pybytes()),
            ("codebook.csv", codebook),
            ("metadata.csv", about),
        ]
    ), count


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
        content, count = build_csv(dataset, rows, metadata)
    elif file_format == "xlsx":
        content, count = build_xlsx(dataset, rows, metadata)
    elif file_format == "parquet":
        content, count = build_parquet(dataset, rows, metadata)
    else:
        raise ValueError(f"Unknown export format {file_format!r}")
    content_type, extension = FORMATS[file_format]
    publication = metadata.get("publication") or "empty"
    return ExportFile(
        filename=f"sovei-research-{dataset.code}-p{publication}.{extension}",
        content_type=content_type,
        content=content,
        row_count=count,
    )
