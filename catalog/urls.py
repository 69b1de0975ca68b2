from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("", views.resource_bank_view, name="resource_bank"),
]
