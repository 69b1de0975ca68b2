"""Everything under /api/ answers JSON, also for paths that no route matches (issue 9,
item 6: `/api/v1/activities/0.5/` got an HTML 404 page); pages keep the site's 404 page."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.models import User

from .conftest import World, client_for, host_of


@pytest.mark.parametrize("path", [
    "/api/v1/activities/0.5/",
    "/api/v1/schools/abc/",
    "/api/v1/no-such-thing/",
    "/api/v2/schools/",
])
def test_an_unmatched_api_path_answers_json_404(
    world: World, trondheim_coordinator: User, path: str
) -> None:
    client = client_for(trondheim_coordinator, host_of(world.trondheim))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_page_that_does_not_exist_is_the_sites_404_page(
    world: World, trondheim_coordinator: User
) -> None:
    response = client_for(trondheim_coordinator, host_of(world.trondheim)).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
