from __future__ import annotations

import pytest
from django.test import Client, override_settings

from tenants.models import Municipality

from .conftest import host_of


@pytest.mark.parametrize("host", ["trondheim.localhost", "localhost", "unknown.localhost"])
def test_it_answers_ok_on_any_host(trondheim: Municipality, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "broker": "up"}


def test_it_answers_503_when_the_broker_is_down(trondheim: Municipality) -> None:
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = Client(HTTP_HOST=host_of(trondheim)).get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "up"
