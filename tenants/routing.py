"""Which municipality a host name belongs to, remembered for a while in each process.

Every request on a municipality's host needs its municipality before anything else (the
schema, the membership check). Looking it up is a query in the public schema, and with it
a `SET search_path` to public and back: on a small API call, a fifth of the round trips.
The answer hardly ever changes, so each process keeps it for
``settings.TENANT_HOST_CACHE_SECONDS``:

* only what routing needs — the id, the schema, the slug and the name (the page header) —
  is remembered; every other field of the ``Municipality`` a request gets is deferred and
  read from the database when used (``shares_research_data``, ``kommunenummer``), so it is
  never stale;
* each request gets an instance of its own (nothing a request changes leaks into another);
* unknown hosts are not remembered (a new municipality answers at once);
* saving or deleting a municipality or a domain forgets everything in this process; other
  processes follow within the expiry (a renamed municipality's header, an erased one's
  host answering from a dropped schema, for at most that long).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings

from .db import use_public_schema
from .models import Domain, Municipality

# In the model's field order, which Model.from_db expects of a partial row.
ROUTING_FIELDS = tuple(
    f.attname
    for f in Municipality._meta.concrete_fields
    if f.attname in {"id", "schema_name", "slug", "name"}
)

# hostname → (expires at, routing field values); tuples replaced whole, never changed.
_routes: dict[str, tuple[float, tuple[Any, ...]]] = {}


def municipality_for_host(hostname: str) -> Municipality | None:
    """The municipality whose domain ``hostname`` is, or None. Switches the connection to
    the public schema when it has to ask the database."""
    now = time.monotonic()
    remembered = _routes.get(hostname)
    if remembered is not None and remembered[0] > now:
        values = remembered[1]
    else:
        use_public_schema()
        row = (
            Domain.objects.filter(domain=hostname)
            .values_list(*(f"tenant__{name}" for name in ROUTING_FIELDS))
            .first()
        )
        if row is None:
            _routes.pop(hostname, None)
            return None
        values = tuple(row)
        seconds = settings.TENANT_HOST_CACHE_SECONDS
        if seconds > 0:
            _routes[hostname] = (now + seconds, values)
    # A fresh instance per request; the fields not in ROUTING_FIELDS are deferred.
    return Municipality.from_db("default", list(ROUTING_FIELDS), list(values))


def forget_routes(**_signal: Any) -> None:
    """Forget every remembered host (connected to saves and deletes of municipalities and
    domains in tenants.apps)."""
    _routes.clear()
