from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Provision the six SoVei pilot municipalities with schools and demo users (idempotent)."

    def handle(self, *args: Any, **opts: Any) -> None:
        logins = load_demo(verbosity=max(0, opts["verbosity"] - 1))
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready. Password for every demo user: {DEMO_PASSWORD}")
        )
        for login in logins:
            self.stdout.write(f"  {login.email:45} {login.role:28} {login.where}")
