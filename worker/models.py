"""Worker bookkeeping in the public schema: progress of full recomputations."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RunKind(models.TextChoices):
    NIGHTLY = "nightly", _("nightly")
    MANUAL = "manual", _("manual")


class RecomputeRun(models.Model):
    """One full recomputation of every school of every municipality (or of the ones
    named). ``total`` schools are counted when the run starts; each school's task adds
    to ``done`` or ``failed``; ``finished_at`` is set when they add up to ``total``.
    The status page shows ``done``/``total``."""

    kind = models.CharField(_("kind"), max_length=10, choices=RunKind.choices)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    municipalities = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("recomputation run")
        verbose_name_plural = _("recomputation runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}: {self.done}/{self.total}"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    @property
    def progress_percent(self) -> int:
        if self.total == 0:
            return 100 if self.is_finished else 0
        return min(100, (self.done + self.failed) * 100 // self.total)


class RecomputeRunSchool(models.Model):
    """A school counted in a run: once, whatever the number of times a redelivered task
    recomputes it (``worker.services.school_counted``)."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="schools")
    schema_name = models.CharField(max_length=63)
    school_id = models.BigIntegerField()
    ok = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "schema_name", "school_id"], name="worker_run_school_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.schema_name}/{self.school_id}: {'ok' if self.ok else 'failed'}"
