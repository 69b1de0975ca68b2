"""Export of one municipality's data on request (the municipality is the data controller):
every table of its schema as CSV, and its rows of the public schema, into a directory or
a zip file. Nothing of another municipality is in it: the schema's tables are its own,
and the public rows are selected by the municipality.

Layout (also in the export's README.txt)::

    README.txt
    manifest.json                     what, when, and the rows of every file
    municipality.json                 the municipality's own row
    public/domains.csv                its addresses
    public/memberships.csv            its users' roles, with their e-mail and name
    public/research_sharing.csv       when it stopped or restarted sharing with research
    schema/<table>.csv                every table of its schema, every row and column

All files come from one snapshot (``tenants.selectors.consistent_read``). The export is
audited (an ACCESS entry on the municipality, in the public schema) and, holding personal
data, is created readable by its owner only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from django.db import connection
from django.utils import timezone

from accounts.models import Membership
from research.models import SharingChange

from .backup import place_new_file
from .db import use_public_schema
from .models import Domain, Municipality
from .selectors import consistent_read, ordered_select, schema_tables, table_row_counts
from .services import municipality_access_log

if TYPE_CHECKING:
    from accounts.models import User

README = """\
SoVei – data export for one municipality / dataeksport for én kommune
=======================================================================

English
-------
Everything the SoVei platform holds about {name} ({kommunenummer}), exported {exported_at}
(UTC) at the municipality's request.

* municipality.json: the municipality's own row.
* public/domains.csv: the web addresses of the municipality.
* public/memberships.csv: the municipality's users (e-mail, name) and their roles; school
  ids refer to schema/implementation_school.csv.
* public/research_sharing.csv: when the municipality stopped or restarted sharing
  anonymized data with research.
* schema/<table>.csv: every table of the municipality's own database schema, all rows and
  all columns (UTF-8, comma-separated, a header line; times in UTC). Ids of users refer to
  public/memberships.csv (user_id); ids of the SoVei model (modules, components,
  instruments) refer to the shared catalog, which the platform publishes.
* manifest.json: what was exported, and the number of rows of every file.

Norsk
-----
Alt SoVei-plattformen har om {name} ({kommunenummer}), eksportert {exported_at} (UTC) etter
kommunens ønske. municipality.json er kommunens egen rad, public/ har adressene,
brukerne og rollene deres, og når kommunen sluttet eller begynte igjen å dele anonymiserte
data med forskningen; schema/ har hver tabell i kommunens eget databaseskjema med alle
rader og kolonner (UTF-8, kommaseparert, med overskriftslinje, tider i UTC).
manifest.json viser hva som er med og antall rader i hver fil.
"""


class ExportError(Exception):
    """An export that cannot be done; the message says why."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    files: dict[str, int]  # file in the export → data rows

    @property
    def rows(self) -> int:
        return sum(self.files.values())


class _Sink(Protocol):
    def open(self, name: str) -> AbstractContextManager[IO[bytes]]: ...


class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        path = self.root / name
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with path.open("wb") as out:
            yield out
        path.chmod(0o600)


class _Zip:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        with self.archive.open(name, "w", force_zip64=True) as out:
            yield out


def _write_csv(sink: _Sink, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
               ) -> int:
    count = 0
    with sink.open(name) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
            count += 1
        text.flush()
        text.detach()
    return count


def _write_json(sink: _Sink, name: str, data: object) -> None:
    with sink.open(name) as out:
        out.write(json.dumps(data, indent=2, ensure_ascii=False, default=str).encode())


def _copy_table(sink: _Sink, name: str, schema: str, table: str) -> None:
    query = f"COPY ({ordered_select(schema, table)}) TO STDOUT WITH (FORMAT csv, HEADER true)"
    with sink.open(name) as out, connection.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            out.write(block)


def _export(sink: _Sink, municipality: Municipality) -> dict[str, int]:
    schema = municipality.schema_name
    files: dict[str, int] = {}
    with consistent_read():
        row = Municipality.objects.get(pk=municipality.pk)
        exported_at = timezone.now()
        _write_json(sink, "municipality.json", {
            "id": row.pk,
            "name": row.name,
            "kommunenummer": row.kommunenummer,
            "slug": row.slug,
            "county": row.county,
            "schema_name": row.schema_name,
            "shares_research_data": row.shares_research_data,
            "created_at": row.created_at.isoformat(),
        })
        files["municipality.json"] = 1
        files["public/domains.csv"] = _write_csv(
            sink, "public/domains.csv", ["id", "domain", "is_primary"],
            Domain.objects.filter(tenant=row).order_by("pk")
            .values_list("pk", "domain", "is_primary"),
        )
        files["public/memberships.csv"] = _write_csv(
            sink, "public/memberships.csv",
            ["id", "user_id", "email", "full_name", "role", "school_ids", "created_at"],
            (
                (m.pk, m.user_id, m.user.email, m.user.full_name, m.role,
                 " ".join(str(i) for i in m.school_ids), m.created_at.isoformat())
                for m in Membership.objects.filter(municipality=row)
                .select_related("user").order_by("pk")
            ),
        )
        files["public/research_sharing.csv"] = _write_csv(
            sink, "public/research_sharing.csv",
            ["id", "shares", "changed_by_id", "changed_by_email", "changed_at"],
            (
                (c.pk, c.shares, c.changed_by_id, c.changed_by.email if c.changed_by else "",
                 c.changed_at.isoformat())
                for c in SharingChange.objects.filter(municipality=row)
                .select_related("changed_by").order_by("pk")
            ),
        )
        counts = table_row_counts(schema)
        for table in schema_tables(schema):
            _copy_table(sink, f"schema/{table}.csv", schema, table)
            files[f"schema/{table}.csv"] = counts[table]
        _write_json(sink, "manifest.json", {
            "format": "sovei-municipality-export",
            "format_version": 1,
            "exported_at": exported_at.isoformat(),
            "municipality": {"slug": row.slug, "name": row.name,
                             "kommunenummer": row.kommunenummer},
            "files": files,
        })
        with sink.open("README.txt") as out:
            out.write(README.format(
                name=row.name, kommunenummer=row.kommunenummer,
                exported_at=exported_at.strftime("%Y-%m-%d %H:%M"),
            ).encode())
    return files


def municipality_export(
    *, municipality: Municipality, path: Path | str, actor: User | None = None
) -> ExportResult:
    """Export ``municipality``'s data to ``path``: a zip file when it ends in ``.zip``,
    otherwise a directory (new or empty). Nothing is overwritten; a failed export leaves
    nothing behind."""
    use_public_schema()
    target = Path(path)
    if target.suffix.lower() == ".zip":
        files = _export_zip(municipality, target)
    else:
        files = _export_directory(municipality, target)
    municipality_access_log(
        municipality=municipality, actor=actor, operation="export", file=target.name,
        files=len(files), rows=sum(files.values()),
    )
    return ExportResult(target, files)


def _export_zip(municipality: Municipality, target: Path) -> dict[str, int]:
    if target.exists():
        raise ExportError(f"{target} exists; an export never overwrites a file.")
    if not target.parent.is_dir():
        raise ExportError(f"The directory {target.parent} does not exist.")
    descriptor, partial_name = tempfile.mkstemp(
        prefix=".sovei-export-", suffix=".zip", dir=target.parent
    )
    partial = Path(partial_name)
    try:
        with os.fdopen(descriptor, "wb") as raw, zipfile.ZipFile(
            raw, "w", compression=zipfile.ZIP_DEFLATED
        ) as archive:
            files = _export(_Zip(archive), municipality)
        os.chmod(partial, 0o600)
        if not place_new_file(partial, target):
            raise ExportError(f"{target} exists; an export never overwrites a file.")
    finally:
        partial.unlink(missing_ok=True)
    return files


def _export_directory(municipality: Municipality, target: Path) -> dict[str, int]:
    created = not target.exists()
    if not created and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} exists and is not an empty directory.")
    if created and not target.parent.is_dir():
        raise ExportError(f"The directory {target.parent} does not exist.")
    target.mkdir(mode=0o700, exist_ok=True)
    try:
        return _export(_Directory(target), municipality)
    except BaseException:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
