"""The sign-in lockout (django-axes) with the settings production uses (issue 9, item 1).

The test settings switch axes off for the rest of the suite (many tests sign in); here it
is on, and every other AXES_* setting is the production one: the lockout counts failures
per account *and* address, after the limit even the right password does not sign in, and a
colleague behind the same address (a school's NAT) is not locked out by one person's typos.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.test import Client, override_settings

from .conftest import PASSWORD, World, host_of

SCHOOL_NAT = "10.20.30.40"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture(autouse=True)
def axes_on(world: World, db: None) -> Iterator[None]:
    with override_settings(AXES_ENABLED=True):
        reset()
        yield
        reset()


def sign_in(world: World, email: str, password: str, address: str = SCHOOL_NAT) -> int:
    """The status of a sign-in through the page: 302 signed in, 200 refused, 429 locked."""
    client = Client(HTTP_HOST=host_of(world.trondheim), REMOTE_ADDR=address)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    return response.status_code


def test_the_production_settings_are_the_ones_tested() -> None:
    from sovei_platform.settings import base

    assert (settings.AXES_FAILURE_LIMIT, settings.AXES_LOCKOUT_PARAMETERS,
            settings.AXES_USERNAME_FORM_FIELD, settings.AXES_COOLOFF_TIME) == (
        base.AXES_FAILURE_LIMIT, base.AXES_LOCKOUT_PARAMETERS,
        base.AXES_USERNAME_FORM_FIELD, base.AXES_COOLOFF_TIME)


def test_after_the_limit_the_right_password_does_not_sign_in_either(world: World) -> None:
    for _ in range(LIMIT - 1):
        assert sign_in(world, "trondheim_leader@example.no", "wrong") == 200

    assert sign_in(world, "trondheim_leader@example.no", "wrong") == 429  # the LIMIT-th
    assert sign_in(world, "trondheim_leader@example.no", PASSWORD) == 429
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address) == ("trondheim_leader@example.no", SCHOOL_NAT)


def test_one_persons_typos_do_not_lock_out_a_colleague_at_the_same_address(
    world: World,
) -> None:
    for _ in range(LIMIT):
        sign_in(world, "trondheim_leader@example.no", "wrong")

    assert sign_in(world, "lade_leader@example.no", PASSWORD) == 302


def test_the_locked_account_still_signs_in_from_another_address(world: World) -> None:
    for _ in range(LIMIT):
        sign_in(world, "trondheim_leader@example.no", "wrong")

    assert sign_in(world, "trondheim_leader@example.no", PASSWORD, address="10.9.9.9") == 302


def test_a_success_before_the_limit_resets_the_count(world: World) -> None:
    for _ in range(LIMIT - 1):
        sign_in(world, "trondheim_leader@example.no", "wrong")
    assert sign_in(world, "trondheim_leader@example.no", PASSWORD) == 302

    assert sign_in(world, "trondheim_leader@example.no", "wrong") == 200
    assert sign_in(world, "trondheim_leader@example.no", PASSWORD) == 302
