"""The recording pages of a municipality's host. School pages live under /skoler/<id>/;
the public one-time survey link is /s/<token>/ (no login)."""

from django.urls import path

from .views import (
    activities,
    adaptations,
    adoptions,
    assessments,
    audit,
    plans,
    rounds,
    schools,
    startup,
    survey_link,
)

app_name = "implementation"

school = "skoler/<int:school_id>/"

urlpatterns = [
    # The school page, its profile and positions
    path(school, schools.school_detail, name="school"),
    path(f"{school}profil/", schools.school_profile, name="school_profile"),
    path(f"{school}stillinger/ny/", schools.position_add, name="position_add"),
    path(f"{school}stillinger/<int:position_id>/fjern/", schools.position_remove,
         name="position_remove"),
    # Adopted components
    path(f"{school}komponenter/", adoptions.adoptions, name="adoptions"),
    path(f"{school}komponenter/ta-i-bruk/", adoptions.adoption_adopt, name="adoption_adopt"),
    path(f"{school}komponenter/lokal/", adoptions.adoption_add_local, name="adoption_add_local"),
    path(f"{school}komponenter/<int:adoption_id>/", adoptions.adoption_detail, name="adoption"),
    path(f"{school}komponenter/<int:adoption_id>/status/", adoptions.adoption_status,
         name="adoption_status"),
    path(f"{school}komponenter/<int:adoption_id>/ansvarlig/", adoptions.adoption_responsible,
         name="adoption_responsible"),
    path(f"{school}komponenter/<int:adoption_id>/fjern/", adoptions.adoption_remove,
         name="adoption_remove"),
    # Adaptations (FRAME)
    path(f"{school}tilpasninger/", adaptations.adaptations, name="adaptations"),
    path(f"{school}tilpasninger/ny/", adaptations.adaptation_create, name="adaptation_create"),
    path(f"{school}tilpasninger/<int:adaptation_id>/", adaptations.adaptation_edit,
         name="adaptation_edit"),
    path(f"{school}tilpasninger/<int:adaptation_id>/slett/", adaptations.adaptation_delete,
         name="adaptation_delete"),
    # Implementation plan, steps and stages
    path(f"{school}plan/", plans.plan, name="plan"),
    path(f"{school}plan/ny/", plans.plan_create, name="plan_create"),
    path(f"{school}plan/endre/", plans.plan_edit, name="plan_edit"),
    path(f"{school}plan/tiltak/nytt/", plans.step_create, name="step_create"),
    path(f"{school}plan/tiltak/<int:step_id>/", plans.step_edit, name="step_edit"),
    path(f"{school}plan/tiltak/<int:step_id>/utfort/", plans.step_done, name="step_done"),
    path(f"{school}plan/tiltak/<int:step_id>/slett/", plans.step_delete, name="step_delete"),
    path(f"{school}plan/faser/", plans.stage_period, name="stage_period"),
    # Assessment rounds of one school and its tasks in them
    path(f"{school}runder/", rounds.school_rounds, name="school_rounds"),
    path(f"{school}runder/<int:round_id>/lenker/", rounds.survey_links, name="survey_links"),
    path(f"{school}runder/<int:round_id>/troskap/", assessments.fidelity, name="fidelity"),
    path(f"{school}runder/<int:round_id>/cfir/", assessments.cfir, name="cfir"),
    path(f"{school}runder/<int:round_id>/sporreskjema/", assessments.staff_survey,
         name="staff_survey"),
    # Start-up module (Oppstartsmodul): fixed actions before the step pattern
    path(f"{school}oppstart/", startup.startup, name="startup"),
    path(f"{school}oppstart/start/", startup.startup_start, name="startup_start"),
    path(f"{school}oppstart/pause/", startup.startup_pause, name="startup_pause"),
    path(f"{school}oppstart/fortsett/", startup.startup_resume, name="startup_resume"),
    path(f"{school}oppstart/<slug:step_slug>/", startup.startup_step, name="startup_step"),
    path(f"{school}oppstart/<slug:step_slug>/ferdig/", startup.startup_step_done,
         name="startup_step_done"),
    path(f"{school}oppstart/<slug:step_slug>/hopp-over/", startup.startup_step_skip,
         name="startup_step_skip"),
    path("oppstart/", startup.startup_municipality, name="startup_municipality"),
    # Activity log
    path(f"{school}tid/", activities.activities, name="activities"),
    path(f"{school}tid/<int:activity_id>/slett/", activities.activity_remove,
         name="activity_remove"),
    # Rounds across schools
    path("runder/", rounds.rounds, name="rounds"),
    path("runder/ny/", rounds.round_create, name="round_create"),
    path("runder/<int:round_id>/", rounds.round_detail, name="round"),
    path("runder/<int:round_id>/lukk/", rounds.round_close, name="round_close"),
    # Audit trail
    path("logg/", audit.audit, name="audit"),
    # Public one-time survey links (accounts.middleware lets /s/ through without login)
    path("s/takk/", survey_link.survey_thanks, name="survey_thanks"),
    path("s/<str:token>/", survey_link.survey_link, name="survey_link"),
]
