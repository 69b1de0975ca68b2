"""`make run` keeps the worker and beat running: deploy/local.py's `supervise` starts a
process that exited again and says so, gives up on one that keeps dying, and stops
everything when the web server exits (issue 9, item 9). Real child processes, no mocks."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

LAUNCHER = Path(__file__).resolve().parent.parent / "deploy" / "local.py"


@pytest.fixture(scope="module")
def launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovei_launcher", LAUNCHER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["sovei_launcher"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def logs(launcher: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(launcher, "LOG_DIR", tmp_path)
    return tmp_path


def exits(code: int) -> list[str]:
    return [sys.executable, "-c", f"print('started'); raise SystemExit({code})"]


def exited(child: object) -> None:
    child.proc.wait(10)  # type: ignore[attr-defined]


def test_it_restarts_a_worker_that_died_and_says_so(
    launcher: ModuleType, logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = launcher.Child("worker", exits(9), {}, restartable=True)
    first = worker.proc.pid
    exited(worker)

    launcher.supervise([worker])

    assert worker.proc.pid != first
    assert len(worker.restarts) == 1
    assert "worker exited (exit code 9); restarting it (restart 1 of at most 5" in (
        capsys.readouterr().out)
    exited(worker)
    worker.stop(timeout=1)
    assert (logs / "worker.log").read_text().count("started") == 2  # both runs logged


def test_it_gives_up_on_a_worker_that_keeps_dying(launcher: ModuleType, logs: Path) -> None:
    worker = launcher.Child("worker", exits(1), {}, restartable=True)
    for _ in range(launcher.RESTART_LIMIT):
        exited(worker)
        launcher.supervise([worker])
    exited(worker)

    with pytest.raises(launcher.LauncherError, match="after 5 restarts"):
        launcher.supervise([worker])
    worker.stop(timeout=1)


def test_old_restarts_do_not_count_against_the_limit(launcher: ModuleType, logs: Path) -> None:
    worker = launcher.Child("worker", exits(1), {}, restartable=True)
    worker.restarts = [time.monotonic() - launcher.RESTART_WINDOW - 1] * launcher.RESTART_LIMIT
    exited(worker)

    launcher.supervise([worker])

    assert len(worker.restarts) == launcher.RESTART_LIMIT + 1
    exited(worker)
    worker.stop(timeout=1)


def test_it_stops_everything_when_the_web_server_exits(
    launcher: ModuleType, logs: Path
) -> None:
    web = launcher.Child("web", exits(3), {})
    worker = launcher.Child("worker", [sys.executable, "-c", "import time; time.sleep(30)"], {},
                            restartable=True)
    exited(web)

    with pytest.raises(launcher.LauncherError, match="web exited unexpectedly"):
        launcher.supervise([web, worker])
    assert worker.proc.poll() is None  # the caller stops the rest
    for child in (web, worker):
        child.stop(timeout=1)
