"""Aggregates of one municipality's records (tenant schema), built by the workers.

Every table here is *derived* data: `dashboards.aggregation` rebuilds a school's rows from
the implementation records with set-based SQL (delete + INSERT … SELECT in one
transaction), so they can be dropped and rebuilt at any time and two recomputations of the
same records give the same rows (apart from ``id`` and ``computed_at``). Nothing else
writes them. The numbers follow ``implementation.scoring`` exactly (same rules, same
ROUND_HALF_UP rounding, thresholds compared on exact values).

Reading them for charts
-----------------------
* **Not measured is absent or NULL, never 0.** A round without fidelity answers has no
  ``FidelityAggregate`` rows; a module whose components were all left unrated has a row
  with ``rated_count = 0`` and ``percent``/``meets_threshold`` NULL; a score resting on too
  small a share of rated components has ``measured`` false and ``meets_threshold`` NULL
  (its ``percent`` is shown, marked as not measured). A stage without
  strategy steps has ``steps_share`` NULL; a scale nobody completed has ``mean`` NULL.
  Show an explained empty state for those, not a zero.
* **Last updated.** ``AggregateStatus`` has one row per school (and one with
  ``school`` NULL for the municipality-wide ``MunicipalitySpread``) with the time of the
  last recomputation, also when it produced no rows at all (“computed, nothing recorded
  yet” versus “not computed yet”: no status row).
* **Updating…** A ``PendingRecompute`` row for a school means a change was committed and
  its aggregates are not rebuilt yet (``dashboards.aggregation.pending_school_ids``).
* **Modules** are ``catalog.Module`` ids (public schema, no database constraint) with the
  module number copied to ``module_number`` for ordering and labels; a NULL module means
  "all modules" (overall).
* Rounded values (``percent``, ``mean``, ``sd``, ``steps_share``, ``share_percent``) are
  ready to show; the counts they rest on are on the same row so a tooltip can say
  "7 of 16 points, 8 components rated".

Tables (one row per …)
----------------------
``FidelityAggregate``  school × round × module (+ module NULL = overall, pooled over all
    rated components, *not* the mean of module percentages). ``points``, ``max_points``
    (2 × rated), ``rated_count`` (components scored: rated 0–2, or not started = 0 points;
    ``not_started_count`` of them), ``unrated_count`` (left out: not applicable this round
    or not assessed), ``percent`` (1 decimal, over the rated components),
    ``rated_share_percent`` (rated / (rated + unrated), 1 decimal), ``measured`` (at least
    one rated and the share reaches ``min_rated_percent``, the model version's minimum),
    ``threshold_percent`` (the round's model version) and ``meets_threshold`` (exact
    comparison; NULL unless measured). Local components (a school's own additions) are
    rated but left out of fidelity *to the shared model*; they are counted in
    ``local_points``/``local_rated_count``/``local_unrated_count``. Chart: fidelity per
    module over rounds
    (x = round, y = percent, one line per module; threshold line), schools × modules
    heatmap (coordinator).
``StageAggregate``  school × module × NIRN stage (all five stages for every module that has
    a stage period or a strategy step). ``stage_order`` 1–5, ``entered_on``/``exited_on``,
    ``ongoing``, ``days`` (exit − entry, or ``as_of`` − entry while ongoing, NULL if never
    entered; stages may overlap, so days are not summed), ``steps_total`` (steps of the
    stage that are not cancelled), ``steps_done``, ``steps_cancelled``, ``steps_share``
    (done / total, 2 decimals, NULL without steps) and ``is_furthest`` (the latest stage
    with an entry date: the school's current stage for the module). Chart: stage timeline
    (Gantt from entered/exited), stage progress per school (rows with ``is_furthest``).
``OutcomeAggregate``  school × round × instrument (``aim``, ``iam``, ``fim``, ``sus``), from
    the school's *released groups* only (``implementation.SurveyRelease``: at least k
    complete answers of a closed round; docs/research.md): ``n`` their answers, ``mean``
    and ``sd`` (sample SD) rounded to ``places`` (2; SUS 1), ``mean_exact`` (unrounded, for
    spreads); NULL when nothing is released. Counts of the other answers: ``n_pooled``
    (released only in the municipality's group of small schools), ``n_withheld`` (not
    shown: the round is open, or fewer than k), ``n_incomplete`` (any item missing). Only
    rounds with at least one response have a row.
``CfirAggregate``  school × round × (level, code). ``level = 'item'``: each rated item (a
    construct or a subconstruct); ``'construct'``: each top-level construct (a group's
    mean is the mean of its rated subconstructs; a construct without subconstructs has the
    same numbers as its item row); ``'domain'``: the mean of the domain's construct means.
    For item/construct rows ``n``/``n_missing`` count ratings and ``n_barrier``/
    ``n_neutral``/``n_facilitator`` ratings < 0, = 0, > 0; for domain rows they count
    *constructs* (with a mean / without any rating / by the sign of their mean).
    ``position`` orders rows as the catalog does. Chart: diverging bars of construct means
    grouped by ``domain_code``.
``TimeUseAggregate``  school × month × module × mode: ``minutes`` and ``activities``.
    Chart: stacked bars over months; acute/outreach versus planned/system level.
``TimeUsePlanAggregate``  school × (``kind = 'module'``: one row per module with time or
    an intended share; ``kind = 'systematic'``: one row for planned + system-level work).
    ``minutes`` of ``total_minutes`` → ``share_percent`` (1 decimal, NULL when nothing is
    logged), against ``intended_percent`` from the school's current plan (latest start;
    NULL when the plan sets none). Activities count within the plan's period
    (``period_from``–``period_to``), or all of them when the school has no plan.
``ResponseRateAggregate``  round × school × instrument of the round: ``responses``
    (``staff_responses`` + ``link_responses``; 0 or 1 for team instruments),
    ``links_issued``/``links_used`` for the school in the round and ``rate_percent``
    (link responses / links issued, NULL without links).
``MunicipalitySpread``  spread across the municipality's schools: ``metric`` ×
    ``round`` (NULL for metrics without rounds) × ``module`` (NULL = overall or not by
    module) × ``key``: ``n_schools`` with a value, ``minimum``, ``median``, ``maximum``,
    ``mean``, ``sd`` (sample SD over schools, NULL for fewer than two) rounded to
    ``places``. Metrics: ``fidelity`` (percent; ``n_meets_threshold``), ``outcome``
    (key = instrument, the schools' means), ``cfir_domain`` (key = domain code),
    ``stage_reached`` (module; stage order 1–5 of the furthest stage), ``steps_share``
    (module; steps done / steps over all stages), ``time_share`` (module; % of logged
    time) and ``systematic_share`` (% planned + system-level time). Chart: box/range per
    round, spread across schools over rounds.
``PendingRecompute``  the durable dirty marker: a school whose records changed since its
    aggregates were built. Written in the same transaction as the change
    (``dashboards.signals``), cleared by the recomputation if no newer change arrived.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AggregateLevel(models.TextChoices):
    ITEM = "item", _("item")
    CONSTRUCT = "construct", _("construct")
    DOMAIN = "domain", _("domain")


class TimeUseKind(models.TextChoices):
    MODULE = "module", _("module")
    SYSTEMATIC = "systematic", _("planned and system-level work")


class SpreadMetric(models.TextChoices):
    FIDELITY = "fidelity", _("fidelity %")
    OUTCOME = "outcome", _("implementation outcome mean")
    CFIR_DOMAIN = "cfir_domain", _("CFIR domain mean")
    STAGE_REACHED = "stage_reached", _("furthest stage reached")
    STEPS_SHARE = "steps_share", _("share of strategy steps done")
    TIME_SHARE = "time_share", _("share of logged time")
    SYSTEMATIC_SHARE = "systematic_share", _("share of planned and system-level time")


def _module_fk(*, null: bool) -> models.ForeignKey:  # type: ignore[type-arg]
    # Catalog rows live in the public schema; derived rows must never block catalog edits.
    return models.ForeignKey(
        "catalog.Module",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=null,
        blank=null,
        related_name="+",
    )


class PendingRecompute(models.Model):
    """A school whose aggregates are stale. ``school_id`` is not a foreign key: the marker
    of a deleted school must survive so its aggregates are cleaned up."""

    school_id = models.BigIntegerField(unique=True)
    requested_at = models.DateTimeField(help_text="Last write; a newer write moves it on.")
    attempts = models.PositiveIntegerField(
        default=0, help_text="Recomputations started since the last write."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"school {self.school_id} since {self.requested_at:%Y-%m-%d %H:%M:%S}"


class AggregateStatus(models.Model):
    """When a school's aggregates (``school`` NULL: the municipality spread) were built."""

    school = models.ForeignKey(
        "implementation.School", on_delete=models.CASCADE, null=True, related_name="+"
    )
    computed_at = models.DateTimeField()
    as_of = models.DateField()
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school"], nulls_distinct=False, name="aggregate_status_unique_school"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id or 'municipality'} @ {self.computed_at}"


class FidelityAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(
        "implementation.AssessmentRound", on_delete=models.CASCADE, related_name="+"
    )
    module = _module_fk(null=True)
    module_number = models.PositiveSmallIntegerField(null=True)
    points = models.PositiveIntegerField()
    max_points = models.PositiveIntegerField()
    rated_count = models.PositiveIntegerField()
    unrated_count = models.PositiveIntegerField()
    not_started_count = models.PositiveIntegerField(default=0, db_default=0)
    percent = models.DecimalField(max_digits=5, decimal_places=1, null=True)
    rated_share_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    min_rated_percent = models.PositiveSmallIntegerField(default=80, db_default=80)
    measured = models.BooleanField(default=False, db_default=False)
    threshold_percent = models.PositiveSmallIntegerField()
    meets_threshold = models.BooleanField(null=True)
    local_points = models.PositiveIntegerField(default=0)
    local_rated_count = models.PositiveIntegerField(default=0)
    local_unrated_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "round", "module_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "round", "module"],
                nulls_distinct=False,
                name="fidelity_aggregate_unique",
            ),
        ]
        indexes = [models.Index(fields=["round", "module"], name="fidelity_agg_round_module")]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.round_id}/{self.module_number or 'all'}: {self.percent}"


class StageAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    module = _module_fk(null=False)
    module_number = models.PositiveSmallIntegerField(null=True)
    stage = models.CharField(max_length=20)
    stage_order = models.PositiveSmallIntegerField()
    entered_on = models.DateField(null=True)
    exited_on = models.DateField(null=True)
    ongoing = models.BooleanField()
    days = models.IntegerField(null=True)
    steps_total = models.PositiveIntegerField()
    steps_done = models.PositiveIntegerField()
    steps_cancelled = models.PositiveIntegerField()
    steps_share = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    is_furthest = models.BooleanField()
    as_of = models.DateField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "module_number", "stage_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "module", "stage"], name="stage_aggregate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.module_number}/{self.stage}"


class OutcomeAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(
        "implementation.AssessmentRound", on_delete=models.CASCADE, related_name="+"
    )
    instrument = models.CharField(max_length=20)
    n = models.PositiveIntegerField(help_text="Complete answers in the school's released groups.")
    n_pooled = models.PositiveIntegerField(
        default=0, help_text="Complete answers released only in the municipality's pooled group."
    )
    n_withheld = models.PositiveIntegerField(
        default=0, help_text="Complete answers not shown (round open, or fewer than k)."
    )
    n_incomplete = models.PositiveIntegerField()
    places = models.PositiveSmallIntegerField()
    mean = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    sd = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    mean_exact = models.DecimalField(max_digits=30, decimal_places=20, null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "round", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "round", "instrument"], name="outcome_aggregate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.round_id}/{self.instrument}: {self.mean} (n={self.n})"


class CfirAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(
        "implementation.AssessmentRound", on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(max_length=10, choices=AggregateLevel.choices)
    code = models.CharField(max_length=20)
    domain_code = models.CharField(max_length=10)
    construct_code = models.CharField(max_length=20, blank=True)
    position = models.PositiveIntegerField()
    n = models.PositiveIntegerField()
    n_missing = models.PositiveIntegerField()
    n_barrier = models.PositiveIntegerField()
    n_neutral = models.PositiveIntegerField()
    n_facilitator = models.PositiveIntegerField()
    mean = models.DecimalField(max_digits=3, decimal_places=2, null=True)
    mean_exact = models.DecimalField(max_digits=30, decimal_places=20, null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "round", "level", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "round", "level", "code"], name="cfir_aggregate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.round_id}/{self.level} {self.code}: {self.mean}"


class TimeUseAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="First day of the month.")
    module = _module_fk(null=False)
    module_number = models.PositiveSmallIntegerField(null=True)
    mode = models.CharField(max_length=20)
    minutes = models.PositiveBigIntegerField()
    activities = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "month", "module_number", "mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "month", "module", "mode"], name="time_use_aggregate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.month:%Y-%m}/{self.module_number}/{self.mode}"


class TimeUsePlanAggregate(models.Model):
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=TimeUseKind.choices)
    module = _module_fk(null=True)
    module_number = models.PositiveSmallIntegerField(null=True)
    minutes = models.PositiveBigIntegerField()
    total_minutes = models.PositiveBigIntegerField()
    share_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    intended_percent = models.PositiveSmallIntegerField(null=True)
    plan_id = models.BigIntegerField(null=True, help_text="The plan compared against.")
    period_from = models.DateField(null=True)
    period_to = models.DateField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "kind", "module_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "kind", "module"],
                nulls_distinct=False,
                name="time_use_plan_aggregate_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id}/{self.kind}/{self.module_number}: {self.share_percent}"


class ResponseRateAggregate(models.Model):
    round = models.ForeignKey(
        "implementation.AssessmentRound", on_delete=models.CASCADE, related_name="+"
    )
    school = models.ForeignKey("implementation.School", on_delete=models.CASCADE, related_name="+")
    instrument = models.CharField(max_length=20)
    respondent = models.CharField(max_length=10)
    responses = models.PositiveIntegerField()
    staff_responses = models.PositiveIntegerField()
    link_responses = models.PositiveIntegerField()
    links_issued = models.PositiveIntegerField()
    links_used = models.PositiveIntegerField()
    rate_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "school", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "school", "instrument"], name="response_rate_aggregate_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id}/{self.school_id}/{self.instrument}: {self.responses}"


class MunicipalitySpread(models.Model):
    metric = models.CharField(max_length=20, choices=SpreadMetric.choices)
    round = models.ForeignKey(
        "implementation.AssessmentRound", on_delete=models.CASCADE, null=True, related_name="+"
    )
    module = _module_fk(null=True)
    module_number = models.PositiveSmallIntegerField(null=True)
    key = models.CharField(max_length=20, blank=True)
    places = models.PositiveSmallIntegerField()
    n_schools = models.PositiveIntegerField()
    minimum = models.DecimalField(max_digits=7, decimal_places=2)
    median = models.DecimalField(max_digits=7, decimal_places=2)
    maximum = models.DecimalField(max_digits=7, decimal_places=2)
    mean = models.DecimalField(max_digits=7, decimal_places=2)
    sd = models.DecimalField(max_digits=7, decimal_places=2, null=True)
    n_meets_threshold = models.PositiveIntegerField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["metric", "round", "module_number", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "round", "module", "key"],
                nulls_distinct=False,
                name="municipality_spread_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric}/{self.round_id}/{self.module_number}/{self.key}"
