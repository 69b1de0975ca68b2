"""Load test: staff, school leaders and coordinators of the generated national data set.

    LOAD_MUNICIPALITIES=k3201,k4601,k5001 .venv/bin/locust -f benchmarks/locustfile.py \\
        --headless --users 50 --spawn-rate 10 --run-time 2m --host http://127.0.0.1:8000

Needs a server with the accounts of ``manage.py generate_national`` (password
``LOAD_PASSWORD``, default the generator's) and ``BASE_DOMAIN`` localhost: every user
signs in on ``<slug>.localhost`` (sent as the Host header, so no DNS is needed) and then
works in that municipality, with think times of 1–3 s (``LOAD_WAIT_MIN`` / ``LOAD_WAIT_MAX``):

* social-work staff (weight 6): log time (POST /api/v1/activities/), list their activities,
  open the school dashboard and its time-use JSON;
* school leaders (weight 3): open the school dashboard, list strategy steps and adoptions,
  record a stage change (POST /api/v1/stage-periods/, an upsert) and read the stage JSON;
* coordinators (weight 1): the municipality comparison, the fidelity heatmap JSON, the
  school list.

Users are spread over ``LOAD_MUNICIPALITIES`` (slugs) and, within each, over
``LOAD_SCHOOLS`` schools (default 5, ids 1 … n: the generator numbers schools from 1).
``benchmarks/load_test.py`` starts gunicorn and a worker, runs this file and prints the
figures.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from datetime import date, timedelta
from typing import Any

from locust import HttpUser, between, events, task

MUNICIPALITIES = [s for s in os.environ.get("LOAD_MUNICIPALITIES", "").split(",") if s]
SCHOOLS = int(os.environ.get("LOAD_SCHOOLS", "5"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "sovei-demo-2026")
DOMAIN = os.environ.get("LOAD_EMAIL_DOMAIN", "nasjonal.sovei.no")
WAIT = between(float(os.environ.get("LOAD_WAIT_MIN", "1")),
               float(os.environ.get("LOAD_WAIT_MAX", "3")))
MODES = ("akutt", "oppsokende", "planlagt", "systemniva")
STAGES = ("exploration", "installation", "initial", "full")
_counter = itertools.count()
RESULT_FILE = os.environ.get("LOAD_RESULT_FILE", "")


class Steady:
    """Response times after every user has started, sign-ins left out (they are PBKDF2 by
    design and happen once per user): written to ``LOAD_RESULT_FILE`` as JSON at the end."""

    started: float | None = None
    times: list[float] = []
    failures = 0


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_kwargs: Any) -> None:
    Steady.started = time.monotonic()
    Steady.times.clear()
    Steady.failures = 0


@events.request.add_listener
def _request(name: str, response_time: float, exception: Exception | None,
             **_kwargs: Any) -> None:
    if Steady.started is None or name.startswith("sign in"):
        return
    Steady.times.append(response_time)
    if exception is not None:
        Steady.failures += 1


@events.quitting.add_listener
def _quitting(**_kwargs: Any) -> None:
    if not RESULT_FILE:
        return
    ordered = sorted(Steady.times)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0

    seconds = time.monotonic() - Steady.started if Steady.started else 0.0
    with open(RESULT_FILE, "w") as handle:
        json.dump({"requests": len(ordered), "failures": Steady.failures,
                   "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
                   "rps": len(ordered) / seconds if seconds else 0.0, "seconds": seconds},
                  handle)


class SoVeiUser(HttpUser):
    abstract = True
    wait_time = WAIT
    role = ""

    def on_start(self) -> None:
        if not MUNICIPALITIES:
            raise RuntimeError("LOAD_MUNICIPALITIES is empty: name the slugs to load")
        n = next(_counter)
        self.slug = MUNICIPALITIES[n % len(MUNICIPALITIES)]
        self.school = 1 + (n // len(MUNICIPALITIES)) % SCHOOLS
        self.client.headers["Host"] = f"{self.slug}.localhost"
        self.sign_in(self.email())
        self.today = date.today()

    def email(self) -> str:
        if self.role == "koordinator":
            return f"koordinator.{self.slug}@{DOMAIN}"
        return f"{self.role}.{self.school}.{self.slug}@{DOMAIN}"

    def sign_in(self, email: str) -> None:
        self.client.get("/accounts/login/", name="sign in (form)")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/accounts/login/",
            data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in of {email} answered {response.status_code}")

    def write(self, path: str, payload: dict[str, Any], name: str) -> None:
        with self.client.post(
            path,
            json=payload,
            headers={"X-CSRFToken": self.client.cookies.get("csrftoken", "")},
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code not in (200, 201):
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Staff(SoVeiUser):
    weight = 6
    role = "ansatt"

    @task(3)
    def log_time(self) -> None:
        self.write(
            "/api/v1/activities/",
            {
                "school": self.school,
                "performed_on": (self.today - timedelta(days=random.randint(0, 20))).isoformat(),  # noqa: S311
                "minutes": random.choice((15, 30, 45, 60, 90)),  # noqa: S311
                "module": random.randint(1, 5),  # noqa: S311
                "mode": random.choice(MODES),  # noqa: S311
            },
            "POST /api/v1/activities/",
        )

    @task(2)
    def my_activities(self) -> None:
        self.client.get(f"/api/v1/activities/?school={self.school}", name="GET /api/v1/activities/")

    @task(2)
    def school_dashboard(self) -> None:
        self.client.get(f"/dashboards/skoler/{self.school}/", name="GET school dashboard")

    @task(1)
    def time_plan(self) -> None:
        self.client.get(f"/api/v1/dashboards/schools/{self.school}/time-plan/",
                        name="GET dashboards JSON time-plan")


class Leader(SoVeiUser):
    weight = 3
    role = "rektor"

    @task(2)
    def school_dashboard(self) -> None:
        self.client.get(f"/dashboards/skoler/{self.school}/", name="GET school dashboard")

    @task(2)
    def steps(self) -> None:
        self.client.get(f"/api/v1/steps/?school={self.school}", name="GET /api/v1/steps/")

    @task(1)
    def adoptions(self) -> None:
        self.client.get(f"/api/v1/adoptions/?school={self.school}",
                        name="GET /api/v1/adoptions/")

    @task(1)
    def stage_change(self) -> None:
        entered = self.today - timedelta(days=random.randint(30, 400))  # noqa: S311
        self.write(
            "/api/v1/stage-periods/",
            {
                "school": self.school,
                "module": random.randint(1, 5),  # noqa: S311
                "stage": random.choice(STAGES),  # noqa: S311
                "entered_on": entered.isoformat(),
                "exited_on": None,
            },
            "POST /api/v1/stage-periods/",
        )

    @task(1)
    def stages(self) -> None:
        self.client.get(f"/api/v1/dashboards/schools/{self.school}/stages/",
                        name="GET dashboards JSON stages")


class Coordinator(SoVeiUser):
    weight = 1
    role = "koordinator"

    @task(2)
    def comparison(self) -> None:
        self.client.get("/dashboards/kommune/", name="GET municipality dashboard")

    @task(1)
    def heatmap(self) -> None:
        self.client.get("/api/v1/dashboards/municipality/fidelity-heatmap/",
                        name="GET dashboards JSON fidelity-heatmap")

    @task(1)
    def schools(self) -> None:
        self.client.get("/api/v1/schools/", name="GET /api/v1/schools/")
