"""Included at /invitasjoner/ on a municipality's host: its coordinator's invitations."""

from django.urls import path

from . import views

app_name = "invitations"

urlpatterns = [
    path("", views.invitations, name="list"),
    path("<int:invitation_id>/trekk-tilbake/", views.invitation_withdrawal, name="withdraw"),
]
