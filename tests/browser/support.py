"""What the browser journeys share: Debian's Chromium, the app served by gunicorn in a
subprocess, and the checks every visited page must pass.

* ``chromium_path()``: ``/usr/bin/chromium`` (``SOVEI_CHROMIUM`` overrides). When it is
  missing the journeys FAIL with how to install it (``make test`` installs it as root);
  they are never skipped.
* ``AppServer``: ``gunicorn sovei_platform.wsgi`` on a free port of 127.0.0.1, with the test
  settings, pointed at this process's test database and at the Redis database and queue of
  the journeys' Celery worker. The public site is ``http://localhost:<port>/``, a
  municipality ``http://<slug>.localhost:<port>/`` (Chromium resolves ``*.localhost`` to
  loopback by itself).
* ``Journey``: visits pages and checks each one at 390 px and 1,366 px (no sideways
  scrolling), runs axe-core on it (no serious or critical violations) and writes the
  screenshots of key pages to docs/screenshots/. Problems are collected and reported
  together at the end of a journey (``assert_clean``), so one run lists all of them.
"""

# ruff: noqa: S603 - starts the project's own gunicorn
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..worker_support import REPO, poll, unique_name

DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
WIDTHS = (390, 1366)
HEIGHT = {390: 844, 1366: 900}
SERIOUS = ("serious", "critical")
CHROMIUM_HELP = (
    "The browser tests drive Debian's Chromium at {path}, which is not installed.\n"
    "Install it with `apt-get install chromium` as root (`make test` does that by itself "
    "when it runs as root), or point SOVEI_CHROMIUM at a Chromium binary."
)


def chromium_path() -> Path:
    return Path(os.environ.get("SOVEI_CHROMIUM", "/usr/bin/chromium"))


def chromium_missing() -> str | None:
    """Why the browser cannot start, or None."""
    path = chromium_path()
    if path.is_file() and os.access(path, os.X_OK):
        return None
    return CHROMIUM_HELP.format(path=path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AppServer:
    """The web app in a gunicorn subprocess against the test database."""

    database_url: str
    redis_url: str
    queue: str
    port: int = field(default_factory=free_port)
    log_path: Path = field(
        default_factory=lambda: Path(tempfile.gettempdir()) / f"{unique_name('web')}.log"
    )
    process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="sovei_platform.settings.test",
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            PYTHONUNBUFFERED="1",
        )
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(gunicorn), "sovei_platform.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}",
                "--worker-class", "gthread", "--workers", "2", "--threads", "8",
                "--timeout", "120", "--access-logfile", "-", "--error-logfile", "-",
            ],
            cwd=str(REPO),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log()}")
            request = urllib.request.Request(f"http://127.0.0.1:{self.port}/healthz")
            request.add_header("Host", "localhost")
            try:
                with urllib.request.urlopen(request, timeout=2):  # noqa: S310 - loopback
                    return True
            except urllib.error.HTTPError:
                return True  # it answers (503: a service it checks is down)
            except OSError:
                return False

        try:
            poll(up, timeout=timeout, interval=0.2)
        except AssertionError as err:
            self.stop()
            raise AssertionError(
                f"the web server did not start ({err}); log:\n{self.log()}"
            ) from None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.stop()
        if not os.environ.get("SOVEI_KEEP_WORKER_LOG"):
            with contextlib.suppress(OSError):
                self.log_path.unlink()


# --------------------------------------------------------------------------- page checks

OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0) {
      const id = el.id ? '#' + el.id : '';
      const cls = (typeof el.className === 'string' && el.className.trim())
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
      const edge = ' (right edge ' + Math.round(box.right) + ' px)';
      wide.push(el.tagName.toLowerCase() + id + cls + edge);
      if (wide.length >= 5) break;
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width: width, wide: wide};
}"""

FITS_JS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def axe_problems(results: dict[str, Any]) -> list[str]:
    """Serious and critical axe violations, one line per rule: rule, impact, targets."""
    lines = []
    for violation in results.get("violations", []):
        if violation.get("impact") not in SERIOUS:
            continue
        targets = [
            " ".join(str(t) for t in node.get("target", [])) for node in violation["nodes"][:5]
        ]
        more = len(violation["nodes"]) - len(targets)
        lines.append(
            f"axe {violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(targets)
            + (f" (+{more} more)" if more > 0 else "")
        )
    return lines


@dataclass
class Journey:
    """One person's way through the site in one browser page; every visited page is
    checked, and what fails is collected for ``assert_clean``."""

    page: Any  # playwright.sync_api.Page
    name: str
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    widths: tuple[int, ...] = WIDTHS

    def check(self, label: str, *, screenshot: str | None = None,
              shot_width: int = 1366, full_page: bool = False) -> None:
        """Check the page now shown: no sideways scrolling at each width, no serious or
        critical axe violations; write a screenshot to docs/screenshots/<screenshot>.png."""
        page = self.page
        page.wait_for_load_state("load")
        where = f"{label} ({page.url})"
        self.visited.append(where)
        original = page.viewport_size
        # The width the page was loaded at first (screenshots then show the charts as laid
        # out for it), then the others.
        current = original["width"] if original else None
        for width in sorted(self.widths, key=lambda w: w != current):
            page.set_viewport_size({"width": width, "height": HEIGHT.get(width, 900)})
            try:  # charts re-lay themselves out after a resize: wait (bounded) for that
                page.wait_for_function(FITS_JS, timeout=3000)
            except Exception:
                overflow = page.evaluate(OVERFLOW_JS)
                if overflow:
                    self.problems.append(
                        f"{where}: scrolls sideways at {width} px (page is "
                        f"{overflow['scrollWidth']} px wide): " + ", ".join(overflow["wide"])
                    )
            if screenshot and width == shot_width:
                self.screenshot(screenshot, full_page=full_page)
            for line in self.axe():  # at each width: a phone's layout has its own problems
                if f"{where}: {line}" not in self.problems:
                    self.problems.append(f"{where}: {line}")
        if original:
            page.set_viewport_size(original)

    def axe(self) -> list[str]:
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page, options={"resultTypes": ["violations"]})
        return axe_problems(results.response)

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = DOCS_SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        return path

    def expect(self, condition: bool, message: str) -> None:
        """A soft assertion: recorded, reported by ``assert_clean``."""
        if not condition:
            self.problems.append(f"{self.name}: {message}")

    def assert_clean(self) -> None:
        if self.problems:
            raise AssertionError(
                f"{self.name}: {len(self.problems)} problem(s) on the pages visited:\n  "
                + "\n  ".join(self.problems)
            )


@contextlib.contextmanager
def journey(context: Any, name: str, *, viewport: tuple[int, int] = (1366, 900),
            widths: tuple[int, ...] = WIDTHS) -> Iterator[Journey]:
    """A fresh page in ``context`` at ``viewport``; closed afterwards."""
    page = context.new_page()
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    try:
        yield Journey(page=page, name=name, widths=widths)
    finally:
        page.close()


def sign_in(page: Any, base_url: str, email: str, password: str, *, next_path: str = "/") -> None:
    """Through the real login page of ``base_url`` (the public or a municipality's site)."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state("load")
    if "/accounts/login/" in page.url:
        raise AssertionError(f"sign-in as {email} at {base_url} failed: {page.url}")


# --------------------------------------------------------------------------- keyboard, charts

def focused_matches(page: Any, selector: str) -> bool:
    return bool(page.evaluate(
        "(sel) => !!document.activeElement && document.activeElement.matches(sel)", selector
    ))


def tab_to(page: Any, selector: str, *, limit: int = 120) -> None:
    """Press Tab (only) until the focused element matches ``selector``."""
    for _ in range(limit):
        if focused_matches(page, selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab ({limit} presses)")


def check_table_alternatives(j: Journey, *, at_least: int = 1) -> int:
    """Every chart on the page has its numbers as a table next to it, and the chart itself
    was drawn; returns how many charts there are."""
    charts = j.page.evaluate("""() => Array.from(document.querySelectorAll('figure.chart'))
      .filter(f => f.querySelector('.plot'))
      .map(f => ({id: f.id,
                  table: !!f.querySelector('details.chart-table table th'),
                  drawn: !!f.querySelector('.plot .main-svg')}))""")
    j.expect(len(charts) >= at_least,
             f"{j.page.url}: {len(charts)} chart(s), expected at least {at_least}")
    for chart in charts:
        j.expect(chart["table"], f"{j.page.url}: chart {chart['id']} has no table alternative")
        j.expect(chart["drawn"], f"{j.page.url}: chart {chart['id']} was not drawn")
    return len(charts)


VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    const parent = node.parentElement;
    if (!text || !parent || parent.closest('script, style, option, noscript')) continue;
    if (parent.closest('.visually-hidden')) { out.push(text); continue; }
    if (!parent.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    out.push(text);
  }
  return out;
}"""


def visible_strings(page: Any) -> list[str]:
    """The text a person sees (and what a screen reader reads from visually hidden text)."""
    return list(page.evaluate(VISIBLE_TEXT_JS))


def table_cell(page: Any, figure_id: str, row_header: str, column: int) -> str:
    """The text of a cell in the table alternative of chart ``figure_id``."""
    return str(page.evaluate(
        """([fid, header, col]) => {
          const rows = document.querySelectorAll('#' + fid + ' details.chart-table tbody tr');
          for (const row of rows) {
            const th = row.querySelector('th');
            if (th && th.textContent.trim().startsWith(header)) {
              const cells = row.querySelectorAll('td');
              return cells[col] ? cells[col].textContent.trim() : '';
            }
          }
          return '';
        }""",
        [figure_id, row_header, column],
    ))


def alerts(page: Any) -> str:
    """What the page's error summaries and field errors say (for failure messages)."""
    return " | ".join(
        page.locator("[role=alert], .errorlist, .field-errors").all_inner_texts()
    ) or "(no error shown)"
