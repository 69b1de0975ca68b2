"""python manage.py dashboard_screenshots: PNGs of the dashboards with headless Chromium.

Run against a server that serves this database (``manage.py runserver``), after
``load_demo`` and ``load_demo_history``. The command signs the demo users in by creating
ordinary database sessions for them (the same rows a login writes; it needs access to the
database, like ``createsuperuser``, and adds no way in to the web application), starts
Debian's ``chromium`` headless with a DevTools port, sets the session cookie through the
Chrome DevTools Protocol, waits until every plotly figure is drawn and saves a full-page
PNG of each page. Console errors and Content-Security-Policy violations of the pages are
reported (there should be none).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import tenant_context

from accounts.models import User
from implementation.models import School
from tenants.demo import demo_email
from tenants.models import Municipality

WIDTH = 1400
HEIGHT = 1800
WAIT_SECONDS = 30


class DevTools:
    """A minimal client of the Chrome DevTools Protocol over one WebSocket (RFC 6455),
    standard library only."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.sock = socket.create_connection((parsed.hostname, parsed.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise CommandError("DevTools closed the connection")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise CommandError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise CommandError("DevTools closed the connection")
            data += chunk
        return data

    def _send(self, payload: bytes, opcode: int = 0x1) -> None:
        header = bytes([0x80 | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            opcode, final = first & 0x0F, first & 0x80
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(length)
            if opcode == 0x9:  # ping
                self._send(payload, 0xA)
                continue
            if opcode == 0x8:
                raise CommandError("DevTools closed the connection")
            parts.append(payload)
            if final:
                message: dict[str, Any] = json.loads(b"".join(parts))
                return message

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self._send(json.dumps({"id": self.next_id, "method": method,
                               "params": params}).encode())
        while True:
            message = self._message()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise CommandError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def session_for(user: User) -> str:
    """A database session of the signed-in user (what django.contrib.auth.login stores)."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key


class Command(BaseCommand):
    help = "Save PNG screenshots of the dashboards of a demo municipality (headless Chromium)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", default="http://{slug}.localhost:8000",
                            help="Address of the running server; {slug} is the municipality.")
        parser.add_argument("--municipality", default="trondheim")
        parser.add_argument("--school", default="Ila skole",
                            help="The school whose dashboard is shown.")
        parser.add_argument("--language", default="nb", choices=["nb", "nn", "en"])
        parser.add_argument("--out", default="docs/screenshots")
        parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")

    def handle(self, *args: Any, **opts: Any) -> None:
        municipality = Municipality.objects.get(slug=opts["municipality"])
        with tenant_context(municipality):
            school = School.objects.get(name=opts["school"])
        base = opts["server"].format(slug=municipality.slug).rstrip("/")
        leader = User.objects.get(email=demo_email("rektor", municipality.slug))
        coordinator = User.objects.get(email=demo_email("koordinator", municipality.slug))
        pages = [
            ("school-dashboard.png", leader, f"/dashboards/skoler/{school.pk}/"),
            ("coordinator-dashboard.png", coordinator, "/dashboards/kommune/"),
            ("status.png", coordinator, "/dashboards/status/"),
            ("recording-plan.png", leader, f"/skoler/{school.pk}/plan/"),
            ("recording-school.png", leader, f"/skoler/{school.pk}/"),
        ]
        sessions = {user.pk: session_for(user) for user in (leader, coordinator)}
        out = Path(opts["out"])
        out.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        profile = tempfile.mkdtemp(prefix="sovei-chromium-")
        browser = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
            [opts["chromium"], "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", f"--remote-debugging-port={port}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            tab = self._tab(port)
            problems = [self._shoot(tab, base, url, sessions[user.pk], opts["language"],
                                    out / name) for name, user, url in pages]
            tab.close()
        finally:
            browser.terminate()
            try:
                browser.wait(timeout=10)
            except subprocess.TimeoutExpired:
                browser.kill()
            shutil.rmtree(profile, ignore_errors=True)
        for (name, _user, _url), found in zip(pages, problems, strict=True):
            status = "ok" if not found else "; ".join(found)
            self.stdout.write(f"  {out / name}: {status}")
        if any(problems):
            raise CommandError("Some pages logged errors (see above).")

    def _tab(self, port: int) -> DevTools:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    target = json.load(response)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CommandError("Chromium did not open its DevTools port") from None
                time.sleep(0.3)
        tab = DevTools(target["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        return tab

    def _shoot(self, tab: DevTools, base: str, path: str, session: str, language: str,
               target: Path) -> list[str]:
        tab.call("Network.clearBrowserCookies")
        for name, value in ((settings.SESSION_COOKIE_NAME, session),
                            (settings.LANGUAGE_COOKIE_NAME, language)):
            tab.call("Network.setCookie", name=name, value=value, url=base + "/", path="/")
        tab.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                 deviceScaleFactor=1, mobile=False)
        tab.events.clear()
        tab.call("Page.navigate", url=base + path)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            ready = tab.evaluate(
                "document.readyState === 'complete' && "
                "document.querySelectorAll('[data-figure]').length === "
                "document.querySelectorAll('[data-figure].is-drawn').length"
            )
            if ready:
                break
            time.sleep(0.25)
        time.sleep(1.0)  # plotly's transitions and web fonts settle
        # The page's own height (measured in a short viewport: a long one stretches it).
        tab.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=600,
                 deviceScaleFactor=1, mobile=False)
        time.sleep(0.3)
        height = int(tab.evaluate("Math.ceil(document.documentElement.scrollHeight)") or HEIGHT)
        tab.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=max(height, 600),
                 deviceScaleFactor=1, mobile=False)
        time.sleep(0.8)
        shot = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        target.write_bytes(base64.b64decode(shot["data"]))
        problems: list[str] = []
        if tab.evaluate("location.pathname") != path:
            problems.append(f"ended at {tab.evaluate('location.href')}")
        for event in tab.events:
            method = event.get("method")
            params = event.get("params", {})
            if method == "Runtime.exceptionThrown":
                problems.append("exception: " + str(params.get("exceptionDetails", {})
                                                    .get("text")))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                if str(params["entry"].get("url", "")).endswith("/favicon.ico"):
                    continue  # the browser asks for it on its own; we have none
                problems.append("console: " + str(params["entry"].get("text"))[:200])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                problems.append("console.error")
        return problems
