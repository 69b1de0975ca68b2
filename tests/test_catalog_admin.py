"""The catalog in the Django admin (/admin/catalog/…), for platform administrators."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from catalog.fileformat import SHIPPED_CATALOG
from catalog.models import Component, ModelVersion, Resource
from catalog.services import catalog_import

from .conftest import client_for


@pytest.fixture
def model(db: None) -> ModelVersion:
    return catalog_import(path=SHIPPED_CATALOG)


def admin_client(user: User) -> Client:
    return client_for(user, "localhost")


def test_it_shows_the_catalog_to_a_platform_administrator(
    platform_admin: User, model: ModelVersion
) -> None:
    client = admin_client(platform_admin)
    component = Component.objects.get(module__version=model, module__number=3, number=2)
    resource = Resource.objects.get(version=model, key="udir-skolemiljo")

    for url in (
        "/admin/",
        "/admin/catalog/",
        "/admin/catalog/modelversion/",
        f"/admin/catalog/modelversion/{model.pk}/change/",
        "/admin/catalog/module/",
        "/admin/catalog/component/",
        f"/admin/catalog/component/{component.pk}/change/",
        "/admin/catalog/resource/",
        f"/admin/catalog/resource/{resource.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/catalog/component/{component.pk}/change/").content.decode()
    assert "Ha et kjent og lett tilgjengelig sted" in page  # the example tasks, inline


def test_it_refuses_links_to_components_of_another_version(
    platform_admin: User, model: ModelVersion
) -> None:
    other = ModelVersion.objects.create(code="8.0", name_nb="Utkast")
    component = Component.objects.get(module__version=model, module__number=2, number=1)
    form = {
        "key": "ny", "kind": "link", "url": "https://example.no/", "title_nb": "Ny ressurs",
        "components": [component.pk],
    }

    refused = admin_client(platform_admin).post(
        "/admin/catalog/resource/add/", {**form, "version": other.pk}
    )
    accepted = admin_client(platform_admin).post(
        "/admin/catalog/resource/add/", {**form, "version": model.pk}
    )

    assert refused.status_code == 200
    assert "Ikke i modellversjon 8.0: 2.1 Veiledning av lærere" in refused.content.decode()
    assert accepted.status_code == 302
    assert list(Resource.objects.get(version=model, key="ny").components.all()) == [component]


def test_it_is_closed_to_other_users(trondheim_coordinator: User, model: ModelVersion) -> None:
    response = admin_client(trondheim_coordinator).get("/admin/catalog/modelversion/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
