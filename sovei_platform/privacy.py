"""The small-group rules that every view of person-level data shares (docs/research.md,
"Released groups").

One setting each, read here so the dashboards, the survey pages and the research store
cannot disagree:

* ``RESEARCH_MIN_GROUP_SIZE`` (k, default 5): survey results (AIM, IAM, FIM, SUS) are
  released only as groups of at least k complete respondents;
* ``RESEARCH_MIN_STAFF_GROUP`` (default k): a time-use figure in the research store rests
  on at least this many social-work staff;
* ``RESEARCH_RELEASE_DELAY_DAYS`` (default 30): a semester is published to the researchers
  this many days after it ended.
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_MIN_GROUP_SIZE = 5
DEFAULT_RELEASE_DELAY_DAYS = 30


def min_group_size() -> int:
    """k: the smallest group of respondents whose survey results are shown anywhere."""
    return max(2, int(getattr(settings, "RESEARCH_MIN_GROUP_SIZE", DEFAULT_MIN_GROUP_SIZE)))


def min_staff_group() -> int:
    """The smallest number of staff behind a published time-use figure."""
    return max(2, int(getattr(settings, "RESEARCH_MIN_STAFF_GROUP", min_group_size())))


def release_delay_days() -> int:
    return max(
        0, int(getattr(settings, "RESEARCH_RELEASE_DELAY_DAYS", DEFAULT_RELEASE_DELAY_DAYS))
    )
