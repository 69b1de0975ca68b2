"""`make test` gets the browser tests their Chromium: Debian's package, installed with
apt-get when it is missing and the launcher runs as root; otherwise it says how, and the
browser tests fail with the same advice instead of being skipped."""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path
from types import ModuleType

import pytest

from tests.browser.support import chromium_missing

LAUNCHER = Path(__file__).resolve().parent.parent / "deploy" / "local.py"


@pytest.fixture
def launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovei_launcher_chromium", LAUNCHER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_apt(tmp_path: Path, chromium: Path) -> tuple[Path, Path]:
    """An apt-get that records its arguments and, on install, creates ``chromium``."""
    calls = tmp_path / "calls"
    script = tmp_path / "apt-get"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'if [ "$1" = install ]; then touch {chromium}; fi\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, calls


def test_as_root_it_installs_debians_chromium_when_missing(
    launcher: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = tmp_path / "chromium"
    apt, calls = fake_apt(tmp_path, chromium)
    monkeypatch.delenv("SOVEI_CHROMIUM", raising=False)
    monkeypatch.setattr(launcher, "CHROMIUM", chromium)
    monkeypatch.setattr(launcher, "IS_ROOT", True)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: str(apt))

    assert launcher.ensure_chromium() is True

    lines = calls.read_text().splitlines()
    assert lines[0].startswith("update")
    assert lines[1].startswith("install") and lines[1].split()[-1] == "chromium"


def test_it_leaves_an_installed_chromium_alone(
    launcher: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chromium = tmp_path / "chromium"
    chromium.touch()
    apt, calls = fake_apt(tmp_path, chromium)
    monkeypatch.delenv("SOVEI_CHROMIUM", raising=False)
    monkeypatch.setattr(launcher, "CHROMIUM", chromium)
    monkeypatch.setattr(launcher, "IS_ROOT", True)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: str(apt))

    assert launcher.ensure_chromium() is True
    assert not calls.exists()


def test_not_root_it_says_how_to_install_it(
    launcher: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SOVEI_CHROMIUM", raising=False)
    monkeypatch.setattr(launcher, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setattr(launcher, "IS_ROOT", False)

    assert launcher.ensure_chromium() is False
    assert "apt-get install chromium" in capsys.readouterr().out


def test_the_browser_tests_fail_with_the_advice_when_chromium_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOVEI_CHROMIUM", str(tmp_path / "chromium"))
    problem = chromium_missing()
    assert problem is not None and "apt-get install chromium" in problem
    executable = tmp_path / "chromium"
    executable.touch()
    executable.chmod(0o755)
    assert os.access(executable, os.X_OK)
    assert chromium_missing() is None
