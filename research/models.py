"""The research store (public schema): anonymized facts from every municipality that
shares data, published by ``research.refresh`` and read by the researcher pages and exports.
See docs/research.md.

The store is *published*, one semester at a time: a semester reaches the researchers
``RESEARCH_RELEASE_DELAY_DAYS`` after it ended, and between publications the store does not
change (except that a municipality that stops sharing is removed at once). Everything here
is replaced wholesale by each publication (one transaction), except the audit trail
(``ExportLog``, ``SharingChange``) and the released time-use groups (``TimeUseGroup``), which
are formed once and never change. The store holds:

* no names of schools, people or municipalities, no e-mail addresses, no free text;
* schools, municipalities and rounds only as keyed-hash pseudonyms (``research.pseudonyms``);
  municipalities by county and size band; rounds by semester ("2026H" = autumn 2026);
* no dates and nothing finer than a semester: stage entry and exit as semesters, time in a
  stage in semesters, no publication time;
* person-level measures only as sums of released groups of at least k people: survey
  results (AIM, IAM, FIM, SUS) from the municipalities' released groups
  (``implementation.SurveyRelease``), time use from ``TimeUseGroup`` (at least
  ``RESEARCH_MIN_STAFF_GROUP`` staff).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class SizeBand(models.TextChoices):
    """A municipality's size: the pupils of all its schools together."""

    SMALL = "<1000", _("under 1,000 pupils")
    MEDIUM = "1000-4999", _("1,000–4,999 pupils")
    LARGE = "5000-19999", _("5,000–19,999 pupils")
    LARGEST = "20000+", _("20,000 pupils or more")


class CellLevel(models.TextChoices):
    OVERALL = "overall", _("all schools")
    COUNTY = "county", _("county")
    SIZE_BAND = "size_band", _("size band")
    COUNTY_BAND = "county_band", _("county × size band")
    MUNICIPALITY = "municipality", _("municipality")
    SCHOOL = "school", _("school")


PSEUDONYM_LENGTH = 16
# The instruments that individuals answer: only protected cells of them are stored.
OUTCOME_INSTRUMENTS = ("aim", "iam", "fim", "sus")


def _pseudonym(**options: object) -> models.CharField:  # type: ignore[type-arg]
    return models.CharField(max_length=PSEUDONYM_LENGTH, **options)  # type: ignore[arg-type]


class ResearchRefresh(models.Model):
    """One publication of the store; the newest is the store's current content. Its times
    are for the operators: researchers see ``through_semester``, never when it ran (the
    day a figure changed would date the records behind it)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    through_semester = models.CharField(
        max_length=5, default="", help_text="The latest semester published (YYYYV / YYYYH)."
    )
    duration_ms = models.PositiveIntegerField()
    municipalities = models.PositiveIntegerField()
    schools = models.PositiveIntegerField()
    excluded_municipalities = models.PositiveIntegerField(
        help_text="Municipalities that do not share data (left out)."
    )
    rows = models.JSONField(default=dict)
    min_group_size = models.PositiveSmallIntegerField()
    min_staff_group = models.PositiveSmallIntegerField(default=5)
    key_fingerprint = models.CharField(
        max_length=16, help_text="Identifies the pseudonym key (not the key itself)."
    )

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"publication {self.pk} (through {self.through_semester})"


class ResearchMunicipality(models.Model):
    pseudonym = _pseudonym(unique=True)
    county = models.CharField(max_length=2)
    size_band = models.CharField(max_length=12, choices=SizeBand.choices)

    class Meta:
        ordering = ["county", "pseudonym"]

    def __str__(self) -> str:
        return self.pseudonym


class ResearchSchool(models.Model):
    pseudonym = _pseudonym(unique=True)
    municipality = _pseudonym()
    county = models.CharField(max_length=2)
    size_band = models.CharField(max_length=12, choices=SizeBand.choices)

    class Meta:
        ordering = ["municipality", "pseudonym"]

    def __str__(self) -> str:
        return self.pseudonym


class ResearchRound(models.Model):
    pseudonym = _pseudonym(unique=True)
    municipality = _pseudonym()
    semester = models.CharField(max_length=5, help_text="YYYYV (spring) or YYYYH (autumn).")
    semester_index = models.PositiveIntegerField(help_text="year × 2 (+1 for autumn): sorts.")
    model_version = models.CharField(max_length=20)
    closed = models.BooleanField()

    class Meta:
        ordering = ["semester_index", "pseudonym"]

    def __str__(self) -> str:
        return f"{self.pseudonym} {self.semester}"


class _SchoolFact(models.Model):
    school = _pseudonym()
    municipality = _pseudonym()
    county = models.CharField(max_length=2)
    size_band = models.CharField(max_length=12, choices=SizeBand.choices)

    class Meta:
        abstract = True


class FidelityFact(_SchoolFact):
    """School × round × module (NULL = overall, pooled over rated components): the team's
    fidelity self-assessment, team-level and shown per pseudonymous school."""

    round = _pseudonym()
    semester = models.CharField(max_length=5)
    semester_index = models.PositiveIntegerField()
    model_version = models.CharField(max_length=20)
    module_number = models.PositiveSmallIntegerField(null=True)
    points = models.PositiveIntegerField()
    max_points = models.PositiveIntegerField()
    rated_count = models.PositiveIntegerField()
    not_started_count = models.PositiveIntegerField(default=0)
    unrated_count = models.PositiveIntegerField()
    percent = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    rated_share_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    min_rated_percent = models.PositiveSmallIntegerField(default=80)
    measured = models.BooleanField(default=False)
    threshold_percent = models.PositiveSmallIntegerField()
    meets_threshold = models.BooleanField(null=True)

    class Meta:
        ordering = ["semester_index", "school", "module_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "round", "module_number"],
                nulls_distinct=False,
                name="research_fidelity_unique",
            ),
        ]
        indexes = [models.Index(fields=["model_version", "semester_index"])]

    def __str__(self) -> str:
        return f"{self.school}/{self.semester}/{self.module_number or 'all'}: {self.percent}"


class StageFact(_SchoolFact):
    """School × module × NIRN stage (SIC) as of the end of the published semester: the
    semesters the stage was entered and left, the semesters spent in it (no days: with the
    semesters they would pin the dates down), and the share of its strategy steps done."""

    model_version = models.CharField(max_length=20)
    module_number = models.PositiveSmallIntegerField()
    stage = models.CharField(max_length=20)
    stage_order = models.PositiveSmallIntegerField()
    entered_semester = models.CharField(max_length=5, blank=True)
    exited_semester = models.CharField(max_length=5, blank=True)
    ongoing = models.BooleanField()
    semesters = models.PositiveSmallIntegerField(
        null=True,
        help_text="Semester boundaries crossed in the stage: exit (or the published "
        "semester) − entry, in semesters.",
    )
    steps_total = models.PositiveIntegerField()
    steps_done = models.PositiveIntegerField()
    steps_cancelled = models.PositiveIntegerField()
    steps_share = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    is_furthest = models.BooleanField()

    class Meta:
        ordering = ["school", "module_number", "stage_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "model_version", "module_number", "stage"],
                name="research_stage_unique",
            ),
        ]
        indexes = [models.Index(fields=["model_version", "module_number"])]

    def __str__(self) -> str:
        return f"{self.school}/{self.module_number}/{self.stage}"


class OutcomeCell(models.Model):
    """An implementation outcome (AIM, IAM, FIM, SUS) pooled over released groups of one
    semester and model version. ``level`` says which schools: every school, a county, a size
    band, county × size band, a municipality or a school. A school cell adds up the school's
    released groups; a municipality cell also the municipality's pooled group of small
    schools. Every released group has at least k complete respondents and never changes, so
    every cell does, and the difference of any two cells — also across publications — is a
    sum of whole groups (``implementation.services.releases``)."""

    level = models.CharField(max_length=12, choices=CellLevel.choices)
    semester = models.CharField(max_length=5)
    semester_index = models.PositiveIntegerField()
    model_version = models.CharField(max_length=20)
    instrument = models.CharField(max_length=10)
    county = models.CharField(max_length=2, blank=True)
    size_band = models.CharField(max_length=12, blank=True)
    municipality = _pseudonym(blank=True)
    school = _pseudonym(blank=True)
    n = models.PositiveIntegerField()
    groups = models.PositiveIntegerField(help_text="Released groups pooled.")
    mean = models.DecimalField(max_digits=5, decimal_places=2)
    sd = models.DecimalField(max_digits=5, decimal_places=2, null=True)

    class Meta:
        ordering = ["semester_index", "instrument", "level", "county", "size_band", "school"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "level",
                    "semester",
                    "model_version",
                    "instrument",
                    "county",
                    "size_band",
                    "municipality",
                    "school",
                ],
                name="research_outcome_cell_unique",
            ),
        ]
        indexes = [models.Index(fields=["model_version", "level", "semester_index"])]

    def __str__(self) -> str:
        return f"{self.level}/{self.semester}/{self.instrument}: {self.mean} (n={self.n})"


class CfirFact(_SchoolFact):
    """School × round × CFIR construct or domain: the team's determinant rating (mean of
    −2 … +2; a construct with subconstructs is the mean of its rated subconstructs)."""

    round = _pseudonym()
    semester = models.CharField(max_length=5)
    semester_index = models.PositiveIntegerField()
    model_version = models.CharField(max_length=20)
    level = models.CharField(max_length=10)
    code = models.CharField(max_length=20)
    domain_code = models.CharField(max_length=10)
    position = models.PositiveIntegerField()
    n_rated = models.PositiveIntegerField()
    n_missing = models.PositiveIntegerField()
    mean = models.DecimalField(max_digits=3, decimal_places=2, null=True)

    class Meta:
        ordering = ["semester_index", "school", "level", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "round", "level", "code"], name="research_cfir_unique"
            ),
        ]
        indexes = [models.Index(fields=["model_version", "semester_index", "level"])]

    def __str__(self) -> str:
        return f"{self.school}/{self.semester}/{self.code}: {self.mean}"


class TimeUseCell(models.Model):
    """Time use of one semester pooled over released time-use groups (``TimeUseGroup``:
    at least ``RESEARCH_MIN_STAFF_GROUP`` social-work staff each), at one ``level`` as
    ``OutcomeCell``: the share (%) of the cell's logged minutes in a module × mode. The
    rows of one cell add up to 100. No minutes are stored (one staff member's hours would
    be recognisable)."""

    level = models.CharField(max_length=12, choices=CellLevel.choices)
    semester = models.CharField(max_length=5)
    semester_index = models.PositiveIntegerField()
    model_version = models.CharField(max_length=20)
    county = models.CharField(max_length=2, blank=True)
    size_band = models.CharField(max_length=12, blank=True)
    municipality = _pseudonym(blank=True)
    school = _pseudonym(blank=True)
    module_number = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=20)
    staff = models.PositiveIntegerField(help_text="Staff behind the cell (Σ over its groups).")
    groups = models.PositiveIntegerField()
    share_percent = models.DecimalField(max_digits=4, decimal_places=1)

    class Meta:
        ordering = ["semester_index", "level", "county", "size_band", "municipality", "school",
                    "module_number", "mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["level", "semester", "model_version", "county", "size_band",
                        "municipality", "school", "module_number", "mode"],
                name="research_time_use_cell_unique",
            ),
        ]
        indexes = [models.Index(fields=["model_version", "level", "semester_index"])]

    def __str__(self) -> str:
        return f"{self.level}/{self.semester}/{self.module_number}/{self.mode}"


class TimeUseGroup(models.Model):
    """A released time-use group (internal: never shown as such): one school's logged time
    in one semester when at least ``RESEARCH_MIN_STAFF_GROUP`` staff logged it, or the rest
    of a municipality's schools together when they reach that many staff *and* would still
    reach it without any one of them (a school leader, who sees the school's own log, then
    cannot subtract down to fewer). Formed once, at the first publication that covers the
    semester, and never changed: time logged later for that semester is not published, so
    no difference between two publications is one person's work. Keyed by kommunenummer
    and school ids (not pseudonyms), so a new pseudonym key leaves the groups as they are."""

    kommunenummer = models.CharField(max_length=4)
    semester = models.CharField(max_length=5)
    school_id = models.BigIntegerField(null=True, help_text="None: the pooled schools.")
    school_ids = ArrayField(models.BigIntegerField(), help_text="Schools in the group.")
    staff = models.PositiveIntegerField()
    formed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kommunenummer", "semester", "school_id"]
        indexes = [models.Index(fields=["kommunenummer", "semester"])]

    def __str__(self) -> str:
        return f"{self.kommunenummer}/{self.semester}/{self.school_id or 'pooled'}"


class TimeUseGroupRow(models.Model):
    group = models.ForeignKey(TimeUseGroup, on_delete=models.CASCADE, related_name="rows")
    model_version = models.CharField(max_length=20)
    module_number = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=20)
    minutes = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "model_version", "module_number", "mode"],
                name="research_time_use_group_row_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.module_number}/{self.mode}"


# --- Audit trail ---------------------------------------------------------------------------


class ExportLog(models.Model):
    """Every download of research data: who, when, what, with which filters, how many rows."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    user_email = models.EmailField()
    created_at = models.DateTimeField(auto_now_add=True)
    dataset = models.CharField(max_length=20)
    file_format = models.CharField(max_length=10)
    filters = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField()
    refresh = models.ForeignKey(
        ResearchRefresh, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user_email} {self.dataset}.{self.file_format} ({self.row_count} rows)"


class SharingChange(models.Model):
    """A municipality's coordinator stopped or restarted sharing with research."""

    municipality = models.ForeignKey(
        "tenants.Municipality", on_delete=models.CASCADE, related_name="+"
    )
    shares = models.BooleanField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.municipality_id}: {'shares' if self.shares else 'stopped'}"
