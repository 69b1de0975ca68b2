"""The production image and the compose stack agree on PostgreSQL's major version.

municipality_backup/restore take only a pg_dump of the server's own major version
(tenants/backup.py); the image installs the client of ``POSTGRES_MAJOR`` and compose runs
the server image ``postgres:<major>``. A version bump on one side alone would leave the
backup command without a client inside the containers, so these files are read here."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tenants.backup import candidate_bindirs

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"


def runtime_stage(dockerfile: str) -> str:
    """The text of the last stage (the image that runs), from its FROM line on."""
    starts = [m.start() for m in re.finditer(r"^FROM\s", dockerfile, flags=re.MULTILINE)]
    assert starts, "the Dockerfile has no FROM line"
    return dockerfile[starts[-1] :]


def image_postgres_major(dockerfile: str) -> int:
    match = re.search(r"^ARG POSTGRES_MAJOR=(\d+)\s*$", runtime_stage(dockerfile), re.MULTILINE)
    assert match, "the runtime stage declares no ARG POSTGRES_MAJOR=<n>"
    return int(match.group(1))


def compose_postgres_major(compose_text: str) -> int:
    services = yaml.safe_load(compose_text)["services"]
    image = services["postgres"]["image"]
    match = re.fullmatch(r"postgres:(\d+)(?:[.\-].*)?", image)
    assert match, f"compose's postgres image {image!r} names no major version"
    return int(match.group(1))


def test_the_image_carries_the_client_of_the_server_that_compose_runs() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    major = image_postgres_major(dockerfile)

    assert major == compose_postgres_major(COMPOSE.read_text(encoding="utf-8"))
    runtime = runtime_stage(dockerfile)
    assert 'postgresql-client-${POSTGRES_MAJOR}' in runtime
    # The build fails when the installed pg_dump is of another major version.
    assert '/usr/lib/postgresql/${POSTGRES_MAJOR}/bin/pg_dump" --version' in runtime


def test_the_backup_command_looks_where_the_image_installs_the_client() -> None:
    major = image_postgres_major(DOCKERFILE.read_text(encoding="utf-8"))

    assert Path(f"/usr/lib/postgresql/{major}/bin") in candidate_bindirs(major)


def test_a_version_bump_on_one_side_alone_is_caught() -> None:
    compose = COMPOSE.read_text(encoding="utf-8")
    bumped = re.sub(r"image: postgres:\d+", "image: postgres:99", compose)

    assert compose_postgres_major(bumped) == 99
    assert compose_postgres_major(bumped) != image_postgres_major(
        DOCKERFILE.read_text(encoding="utf-8")
    )
