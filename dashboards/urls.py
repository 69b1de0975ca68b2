"""Dashboard pages on a municipality's host, under /dashboards/."""

from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("skoler/<int:school_id>/", views.school_dashboard, name="school"),
    path("kommune/", views.municipality_dashboard, name="municipality"),
    path("status/", views.status, name="status"),
]
