"""Invitations (issue 12, item 3): a municipality's coordinator invites a person by e-mail to
a role and schools (page + service, audited); the person's first Feide sign-in with that
address, or that Feide username, claims it. An invitation expires, can be withdrawn, and
is claimed once — also when two sign-ins race for it. One sign-in claims the invitations
of every municipality. (The sign-in itself, against a real provider:
tests/test_feide_sign_in.py.)

Personas: Trondheim's coordinator, Ila's leader (who may not invite), Volda's leader,
and newcomers known only by their Feide identity."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone, translation

from accounts.models import Invitation, Membership, Role, User
from accounts.services import (
    FeideIdentity,
    NoInvitation,
    feide_sign_in,
    invitation_claim,
    invitation_create,
    invitation_withdraw,
)
from tenants.models import Municipality

from .conftest import World, client_for, host_of

NEWCOMER = FeideIdentity(user_id="feide-newcomer", email="ny@trondheim.kommune.no",
                         eppn="ny@trondheim.kommune.no", name="Nina Ny")


def invite(world: World, coordinator: User, email: str = NEWCOMER.email, **kwargs: object
           ) -> Invitation:
    options: dict[str, object] = {"role": Role.STAFF, "school_ids": [world.ila_id], **kwargs}
    return invitation_create(municipality=world.trondheim, email=email, actor=coordinator,
                             **options)  # type: ignore[arg-type]


def test_a_coordinator_invites_a_person_on_the_page(
    trondheim_coordinator: User, world: World
) -> None:
    page = client_for(trondheim_coordinator, host_of(world.trondheim))

    response = page.post("/invitasjoner/", {"email": "Ny@Trondheim.Kommune.no",
                                            "role": "leader", "school_ids": [world.ila_id]})
    listing = page.get("/invitasjoner/")

    invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert (invitation.email, invitation.role, invitation.school_ids) == (
        "ny@trondheim.kommune.no", "leader", [world.ila_id])
    assert invitation.invited_by == trondheim_coordinator
    assert "ny@trondheim.kommune.no" in listing.text and "Ila skole" in listing.text
    entry = LogEntry.objects.get_for_object(invitation).get()
    assert entry.actor == trondheim_coordinator


def test_the_invitee_gets_an_email_after_the_commit(
    trondheim_coordinator: User, world: World, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        invite(world, trondheim_coordinator)

    assert [m.to for m in mail.outbox] == [[NEWCOMER.email]]
    assert "Trondheim" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address", "role": "coordinator"}, "email"),
        ({"email": "a@b.no", "role": "staff"}, "school_ids"),  # staff need a school
        ({"email": "a@b.no", "role": "coordinator", "eppn": "no-realm"}, "eppn"),
    ],
)
def test_it_refuses_bad_input_with_the_reason_on_the_form(
    trondheim_coordinator: User, world: World, data: dict[str, str], field: str
) -> None:
    page = client_for(trondheim_coordinator, host_of(world.trondheim))

    response = page.post("/invitasjoner/", data, headers={"accept-language": "nb"})

    assert response.status_code == 400
    assert response.context["form"].errors.get(field)
    assert not Invitation.objects.exists()


def test_it_refuses_a_second_open_invitation_and_one_for_a_role_already_held(
    trondheim_coordinator: User, trondheim_leader: User, world: World
) -> None:
    invite(world, trondheim_coordinator)

    with translation.override("en"), pytest.raises(ValidationError) as twice:
        invite(world, trondheim_coordinator)
    with translation.override("en"), pytest.raises(ValidationError) as held:
        invite(world, trondheim_coordinator, email=trondheim_leader.email, role=Role.LEADER,
               school_ids=[world.ila_id])

    assert "already invited" in twice.value.message_dict["email"][0]
    assert "already has this role" in held.value.message_dict["email"][0]


def test_only_the_coordinator_invites(trondheim_leader: User, volda_leader: User,
                                      world: World) -> None:
    leader = client_for(trondheim_leader, host_of(world.trondheim))
    stranger = client_for(volda_leader, host_of(world.trondheim))

    assert leader.get("/invitasjoner/").status_code == 403
    assert leader.post("/invitasjoner/", {"email": "x@y.no", "role": "coordinator"}
                       ).status_code == 403
    assert stranger.get("/invitasjoner/").status_code == 403
    assert not Invitation.objects.exists()


def test_the_first_feide_sign_in_with_the_address_claims_it(
    trondheim_coordinator: User, world: World
) -> None:
    invitation = invite(world, trondheim_coordinator)

    user = feide_sign_in(identity=NEWCOMER)

    invitation.refresh_from_db()
    assert invitation.claimed_by == user and invitation.claimed_at is not None
    assert Membership.objects.filter(user=user, municipality=world.trondheim, role="staff",
                                     school_ids=[world.ila_id]).exists()
    assert feide_sign_in(identity=NEWCOMER) == user  # the next sign-in: the same account


def test_an_invitation_to_a_feide_username_is_claimed_by_it(
    trondheim_coordinator: User, world: World
) -> None:
    invite(world, trondheim_coordinator, email="nina.privat@example.no",
           eppn=NEWCOMER.eppn)

    user = feide_sign_in(identity=FeideIdentity(user_id="feide-nina", eppn=NEWCOMER.eppn,
                                                email="nina@skole.no"))

    assert Membership.objects.filter(user=user, municipality=world.trondheim).exists()


def test_one_sign_in_claims_the_invitations_of_every_municipality(
    trondheim_coordinator: User, volda_leader: User, world: World
) -> None:
    invite(world, trondheim_coordinator)
    Membership.objects.create(user=volda_leader, municipality=world.volda, role="coordinator")
    invitation_create(municipality=world.volda, email=NEWCOMER.email, role=Role.COORDINATOR,
                      actor=volda_leader)

    user = feide_sign_in(identity=NEWCOMER)
    landing = client_for(user, "localhost").get("/").text

    assert set(Membership.objects.filter(user=user).values_list(
        "municipality__slug", flat=True)) == {"trondheim", "volda"}
    assert "/accounts/kommune/trondheim/" in landing and "/accounts/kommune/volda/" in landing


@pytest.mark.parametrize("ended", ["expired", "withdrawn"])
def test_an_expired_or_withdrawn_invitation_lets_nobody_in(
    trondheim_coordinator: User, world: World, ended: str
) -> None:
    invitation = invite(world, trondheim_coordinator)
    if ended == "expired":
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        invitation_withdraw(invitation=invitation, actor=trondheim_coordinator)

    with pytest.raises(NoInvitation):
        feide_sign_in(identity=NEWCOMER)

    assert not User.objects.filter(email=NEWCOMER.email).exists()


def test_a_used_invitation_cannot_be_claimed_again(
    trondheim_coordinator: User, trondheim_staff: User, world: World
) -> None:
    invitation = invite(world, trondheim_coordinator, role=Role.COORDINATOR, school_ids=[])
    feide_sign_in(identity=NEWCOMER)

    again = invitation_claim(invitation=invitation, user=trondheim_staff)

    assert again is None
    assert not Membership.objects.filter(user=trondheim_staff, role="coordinator").exists()
    with pytest.raises(ValidationError), translation.override("en"):
        invitation_withdraw(invitation=invitation, actor=trondheim_coordinator)


def test_of_two_claims_at_once_only_one_gets_the_membership(world: World, db: None) -> None:
    """Two sign-ins claim one invitation at the same moment, each on its own connection:
    the first holds the invitation's row (its transaction still open) while the second
    tries; the second must see it claimed, not grant a second membership. The rows are
    committed, so the test removes them afterwards."""
    trondheim = Municipality.objects.get(pk=world.trondheim.pk)
    made: dict[str, object] = {}
    first_holds, first_may_commit = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def setup() -> None:
        last = LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
        made["log_before"] = last or 0
        coordinator = User.objects.create_user("race-koordinator@example.no")
        made["users"] = [coordinator] + [
            User.objects.create_user(f"race-{n}@example.no") for n in ("a", "b")]
        made["invitation"] = invitation_create(
            municipality=trondheim, email="race@example.no", role=Role.COORDINATOR,
            actor=coordinator)

    def claim(name: str, user: User, hold: bool) -> None:
        try:
            if hold:
                with transaction.atomic():
                    results[name] = invitation_claim(invitation=made["invitation"], user=user)  # type: ignore[arg-type]
                    first_holds.set()
                    first_may_commit.wait(10)
            else:
                first_holds.wait(10)
                results[name] = invitation_claim(invitation=made["invitation"], user=user)  # type: ignore[arg-type]
        finally:
            connections.close_all()

    def cleanup() -> None:
        users = made.get("users", [])
        Invitation.objects.filter(email="race@example.no").delete()
        User.objects.filter(pk__in=[u.pk for u in users]).delete()  # type: ignore[attr-defined]
        # every audit entry the committed writes made (nothing else writes meanwhile)
        LogEntry.objects.filter(pk__gt=made.get("log_before", 0)).delete()

    def in_thread(target: object, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args)  # type: ignore[arg-type]
        thread.start()
        return thread

    in_thread(lambda: (setup(), connections.close_all())).join(30)
    try:
        _, a, b = made["users"]  # type: ignore[misc]
        first = in_thread(claim, "first", a, True)
        second = in_thread(claim, "second", b, False)
        first_holds.wait(10)
        second.join(0.5)  # the second waits on the first's lock ...
        waited = second.is_alive()
        first_may_commit.set()
        first.join(30)
        second.join(30)

        assert waited
        assert isinstance(results["first"], Membership)
        assert results["second"] is None
    finally:
        in_thread(lambda: (cleanup(), connections.close_all())).join(30)
