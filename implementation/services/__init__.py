"""Writes of tenant data. Each service validates, then writes in one transaction with its
audit entries (sovei_platform.audit.audited_write); callers pass objects they obtained
through the access-scoped selectors, so a service never widens what a user may reach."""

from .activities import activity_delete, activity_log
from .adoptions import (
    adaptation_create,
    adaptation_delete,
    adaptation_update,
    adoption_change_status,
    adoption_create,
    adoption_delete,
    adoption_update,
)
from .plans import (
    plan_create,
    plan_update,
    stage_period_set,
    stage_period_upsert,
    step_create,
    step_delete,
    step_update,
)
from .responses import (
    link_response_submit,
    staff_response_submit,
    staff_response_upsert,
    team_response_submit,
    team_response_upsert,
)
from .rounds import round_close, round_create, round_update, survey_links_create
from .schools import school_create, school_update, staff_position_add, staff_position_remove
from .startup import (
    startup_pause,
    startup_resume,
    startup_start,
    startup_step_complete,
    startup_step_skip,
)

__all__ = [
    "activity_delete",
    "activity_log",
    "adaptation_create",
    "adaptation_delete",
    "adaptation_update",
    "adoption_change_status",
    "adoption_create",
    "adoption_delete",
    "adoption_update",
    "link_response_submit",
    "plan_create",
    "plan_update",
    "round_close",
    "round_create",
    "round_update",
    "school_create",
    "school_update",
    "staff_position_add",
    "staff_position_remove",
    "staff_response_submit",
    "staff_response_upsert",
    "stage_period_set",
    "stage_period_upsert",
    "startup_pause",
    "startup_resume",
    "startup_start",
    "startup_step_complete",
    "startup_step_skip",
    "step_create",
    "step_delete",
    "step_update",
    "survey_links_create",
    "team_response_submit",
    "team_response_upsert",
]
