"""The SoVei model as versioned data (public schema, shared by every municipality):
model version → modules → numbered components → example tasks, and the digital resource
bank linked to components and example tasks.

Every user-visible text has explicit `_nb` (required), `_nn` and `_en` (optional) fields;
`Translated` attributes (`module.title`, `task.text`, …) give the active language's text
with the Bokmål fallback. Rows are normally written by catalog.services.catalog_import
from a catalog file (docs/catalog-format.md); the Django admin edits them by hand.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .translation import Translated, TranslatedMixin, pick_text

VERSION_CODE_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
MAX_NUMBER = 99


NUMBER_VALIDATORS = [MinValueValidator(1), MaxValueValidator(MAX_NUMBER)]


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PUBLISHED = "published", _("published")


class ModelVersion(TranslatedMixin, models.Model):
    """One version of the SoVei work model, e.g. "1.0"; "2.0" is planned."""

    code = models.CharField(
        _("version"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(VERSION_CODE_PATTERN, _("Use numbers and dots, e.g. 1.0."))],
    )
    name_nb = models.CharField(_("name (Bokmål)"), max_length=200)
    name_nn = models.CharField(_("name (Nynorsk)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    fidelity_threshold_percent = models.PositiveSmallIntegerField(
        _("fidelity threshold (%)"),
        default=70,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("A school implements the model with fidelity at or above this score."),
    )
    fidelity_min_rated_percent = models.PositiveSmallIntegerField(
        _("minimum share rated for a fidelity score (%)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "A fidelity score counts as measured only when at least this share of the adopted "
            "components is rated (not started counts as rated, with 0 points)."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    name = Translated()

    class Meta:
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fidelity_threshold_percent__gte=1)
                & models.Q(fidelity_threshold_percent__lte=100),
                name="catalog_version_threshold_range",
            ),
            models.CheckConstraint(
                condition=models.Q(fidelity_min_rated_percent__gte=1)
                & models.Q(fidelity_min_rated_percent__lte=100),
                name="catalog_version_min_rated_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_nb}"

    @property
    def sort_key(self) -> tuple[int, ...]:
        """ "1.10" sorts after "1.9"."""
        return tuple(int(part) for part in self.code.split(".") if part.isdigit())


class Module(TranslatedMixin, models.Model):
    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.CASCADE,
        related_name="modules",
        verbose_name=_("model version"),
    )
    number = models.PositiveSmallIntegerField(_("number"), validators=NUMBER_VALIDATORS)
    title_nb = models.CharField(_("title (Bokmål)"), max_length=255)
    title_nn = models.CharField(_("title (Nynorsk)"), max_length=255, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=255, blank=True)
    description_nb = models.TextField(_("description (Bokmål)"), blank=True)
    description_nn = models.TextField(_("description (Nynorsk)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    title = Translated()
    description = Translated()

    class Meta:
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        ordering = ["version", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "number"], name="catalog_module_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title_nb}"


class Component(TranslatedMixin, models.Model):
    module = models.ForeignKey(
        Module,
        on_delete=models.CASCADE,
        related_name="components",
        verbose_name=_("module"),
    )
    number = models.PositiveSmallIntegerField(_("number"), validators=NUMBER_VALIDATORS)
    title_nb = models.CharField(_("title (Bokmål)"), max_length=255)
    title_nn = models.CharField(_("title (Nynorsk)"), max_length=255, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=255, blank=True)
    description_nb = models.TextField(_("description (Bokmål)"), blank=True)
    description_nn = models.TextField(_("description (Nynorsk)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    title = Translated()
    description = Translated()

    class Meta:
        verbose_name = _("component")
        verbose_name_plural = _("components")
        ordering = ["module__version", "module__number", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["module", "number"], name="catalog_component_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title_nb}"

    @property
    def key(self) -> str:
        """ "2.1": module 2, component 1 (the reference used in catalog files)."""
        return f"{self.module.number}.{self.number}"


class ExampleTask(TranslatedMixin, models.Model):
    component = models.ForeignKey(
        Component,
        on_delete=models.CASCADE,
        related_name="example_tasks",
        verbose_name=_("component"),
    )
    number = models.PositiveSmallIntegerField(_("number"), validators=NUMBER_VALIDATORS)
    text_nb = models.TextField(_("text (Bokmål)"))
    text_nn = models.TextField(_("text (Nynorsk)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)

    text = Translated()

    class Meta:
        verbose_name = _("example task")
        verbose_name_plural = _("example tasks")
        ordering = [
            "component__module__version",
            "component__module__number",
            "component__number",
            "number",
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["component", "number"], name="catalog_example_task_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.text_nb[:80]}"

    @property
    def key(self) -> str:
        """ "2.1.3": example task 3 of component 2.1."""
        return f"{self.component.key}.{self.number}"


class ResourceKind(models.TextChoices):
    GUIDE = "guide", _("guide")
    TEMPLATE = "template", _("template")
    VIDEO = "video", _("video")
    LINK = "link", _("link")
    ARTICLE = "article", _("article")


class ResourceLanguage(models.TextChoices):
    NB = "nb", _("Norwegian Bokmål")
    NN = "nn", _("Norwegian Nynorsk")
    EN = "en", _("English")


class Resource(TranslatedMixin, models.Model):
    """An entry of the digital resource bank: a guide, template, video, link or article,
    attached to components and example tasks of one model version."""

    version = models.ForeignKey(
        ModelVersion,
        on_delete=models.CASCADE,
        related_name="resources",
        verbose_name=_("model version"),
    )
    key = models.SlugField(
        _("key"),
        max_length=80,
        help_text=_("Stable identifier within the model version, e.g. udir-skolemiljo."),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ResourceKind.choices)
    title_nb = models.CharField(_("title (Bokmål)"), max_length=255)
    title_nn = models.CharField(_("title (Nynorsk)"), max_length=255, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=255, blank=True)
    description_nb = models.TextField(_("description (Bokmål)"), blank=True)
    description_nn = models.TextField(_("description (Nynorsk)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    url = models.URLField(_("address (URL)"), max_length=500)
    language = models.CharField(
        _("language of the resource"), max_length=2, choices=ResourceLanguage.choices, blank=True
    )
    components = models.ManyToManyField(
        Component, related_name="resources", blank=True, verbose_name=_("components")
    )
    example_tasks = models.ManyToManyField(
        ExampleTask, related_name="resources", blank=True, verbose_name=_("example tasks")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated"))

    title = Translated()
    description = Translated()

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["version", "key"]
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="catalog_resource_unique_key"),
        ]

    def __str__(self) -> str:
        return self.title_nb


# --- Assessment instruments (versioned catalog data, docs/instruments.md) ------------------


class InstrumentRespondent(models.TextChoices):
    TEAM = "team", _("school team")
    INDIVIDUAL = "individual", _("individual respondent")


class Instrument(TranslatedMixin, models.Model):
    """An assessment instrument of one catalog version: fidelity, AIM, IAM, FIM, SUS, CFIR.
    Item texts are data; scoring is code (implementation.scoring)."""

    version = models.CharField(_("version"), max_length=20)
    code = models.SlugField(_("code"), max_length=20)
    name_nb = models.CharField(_("name (Bokmål)"), max_length=200)
    name_nn = models.CharField(_("name (Nynorsk)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description_nb = models.TextField(_("description (Bokmål)"), blank=True)
    description_nn = models.TextField(_("description (Nynorsk)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    respondent = models.CharField(
        _("answered by"), max_length=10, choices=InstrumentRespondent.choices
    )
    scale_min = models.SmallIntegerField(_("lowest value"))
    scale_max = models.SmallIntegerField(_("highest value"))
    missing_allowed = models.BooleanField(_("items may be left unanswered"), default=False)
    scale_labels = models.JSONField(_("scale labels"), default=list, blank=True)
    source = models.TextField(_("source"), blank=True)
    translation_note = models.TextField(_("translation note"), blank=True)

    name = Translated()
    description = Translated()

    class Meta:
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["version", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="instrument_unique_code"),
            models.CheckConstraint(
                condition=models.Q(scale_max__gt=models.F("scale_min")),
                name="instrument_scale_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_nb} ({self.version})"

    def label_for(self, value: int, language: str | None = None) -> str:
        for entry in self.scale_labels:
            if entry.get("value") == value:
                return pick_text(_Labels(entry), "label", language)
        return str(value)


class _Labels:
    def __init__(self, entry: dict[str, object]) -> None:
        self.__dict__.update(entry)


class InstrumentDomain(TranslatedMixin, models.Model):
    """A CFIR 2.0 domain (I–V)."""

    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.CASCADE,
        related_name="domains",
        verbose_name=_("instrument"),
    )
    code = models.CharField(_("code"), max_length=10)
    position = models.PositiveSmallIntegerField(default=0, verbose_name=_("position"))
    name_nb = models.CharField(_("name (Bokmål)"), max_length=200)
    name_nn = models.CharField(_("name (Nynorsk)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    text_nb = models.TextField(_("text (Bokmål)"), blank=True)
    text_nn = models.TextField(_("text (Nynorsk)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)

    name = Translated()
    text = Translated()

    class Meta:
        verbose_name = _("instrument domain")
        verbose_name_plural = _("instrument domains")
        ordering = ["instrument", "position"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "code"], name="domain_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_nb}"


class InstrumentItem(TranslatedMixin, models.Model):
    """A question (AIM, IAM, FIM, SUS) or a rateable construct (CFIR)."""

    instrument = models.ForeignKey(
        Instrument,
        on_delete=models.CASCADE,
        related_name="items",
        verbose_name=_("instrument"),
    )
    code = models.CharField(_("code"), max_length=20)
    number = models.PositiveSmallIntegerField(_("number"))
    domain = models.ForeignKey(
        InstrumentDomain, on_delete=models.CASCADE, null=True, blank=True, related_name="items",
        verbose_name=_("domain"),
    )
    parent_code = models.CharField(_("parent construct"), max_length=20, blank=True)
    parent_name_nb = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=_("parent name (Bokmål)"),
    )
    parent_name_nn = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=_("parent name (Nynorsk)"),
    )
    parent_name_en = models.CharField(
        max_length=200,
        blank=True,
        verbose_name=_("parent name (English)"),
    )
    polarity = models.CharField(
        _("polarity"),
        max_length=10,
        blank=True,
        choices=[("positive", _("positive")), ("negative", _("negative"))],
    )
    name_nb = models.CharField(_("name (Bokmål)"), max_length=200, blank=True)
    name_nn = models.CharField(_("name (Nynorsk)"), max_length=200, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    text_nb = models.TextField(_("text (Bokmål)"))
    text_nn = models.TextField(_("text (Nynorsk)"), blank=True)
    text_en = models.TextField(_("text (English)"), blank=True)

    name = Translated()
    text = Translated()
    parent_name = Translated()

    class Meta:
        verbose_name = _("instrument item")
        verbose_name_plural = _("instrument items")
        ordering = ["instrument", "number"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "code"], name="item_unique_code"),
            models.UniqueConstraint(fields=["instrument", "number"], name="item_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name_nb or self.text_nb[:60]}"
