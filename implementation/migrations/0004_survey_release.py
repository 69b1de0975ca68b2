"""Released survey groups (implementation.services.releases), and the audit trail of
individual survey answers redacted: entries written before this migration carried each
answer's value and, for staff members, who gave it."""

import django.db.models.deletion
from django.db import migrations, models

INDIVIDUAL = ("staff", "link")


def redact_individual_answers(apps, schema_editor):  # type: ignore[no-untyped-def]
    LogEntry = apps.get_model("auditlog", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Response = apps.get_model("implementation", "Response")
    Answer = apps.get_model("implementation", "Answer")
    redacted = {"changes": {}, "changes_text": "", "serialized_data": None, "actor": None,
                "actor_email": None, "remote_addr": None}
    response_type = ContentType.objects.filter(
        app_label="implementation", model="response").first()
    answer_type = ContentType.objects.filter(app_label="implementation", model="answer").first()
    if response_type is not None:
        LogEntry.objects.filter(
            content_type=response_type,
            object_id__in=Response.objects.filter(respondent_kind__in=INDIVIDUAL).values("id"),
        ).update(**redacted)
    if answer_type is not None:
        LogEntry.objects.filter(
            content_type=answer_type,
            object_id__in=Answer.objects.filter(
                response__respondent_kind__in=INDIVIDUAL).values("id"),
        ).update(**redacted)
        # Answers deleted since (a staff member's changed answers): whose they were can no
        # longer be told, so every such entry of an item answer is redacted.
        LogEntry.objects.filter(content_type=answer_type).exclude(
            object_id__in=Answer.objects.values("id")).filter(
            changes__has_key="item").update(**redacted)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_instrument_instrumentdomain_instrumentitem_and_more'),
        ('implementation', '0003_fidelity_unrated_reason'),
        ('auditlog', '0017_add_actor_email'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='SurveyRelease',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('n', models.PositiveIntegerField(help_text='Complete respondents.')),
                ('schools', models.PositiveIntegerField(help_text='Schools whose answers are in the group.')),
                ('total', models.DecimalField(decimal_places=6, help_text='Σ score.', max_digits=20)),
                ('total_squares', models.DecimalField(decimal_places=6, help_text='Σ score², for the standard deviation.', max_digits=24)),
                ('min_group_size', models.PositiveSmallIntegerField(help_text='k when it was released.')),
                ('released_at', models.DateTimeField()),
                ('instrument', models.ForeignKey(on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='catalog.instrument')),
                ('round', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='releases', to='implementation.assessmentround')),
                ('school', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='releases', to='implementation.school')),
            ],
            options={
                'ordering': ['round', 'instrument', 'school', 'id'],
            },
        ),
        migrations.AddField(
            model_name='response',
            name='release',
            field=models.ForeignKey(blank=True, help_text='The released group this answer is counted in (None: not released).', null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='responses', to='implementation.surveyrelease'),
        ),
        migrations.AddConstraint(
            model_name='surveyrelease',
            constraint=models.CheckConstraint(condition=models.Q(('n__gte', 2)), name='survey_release_not_one'),
        ),
        migrations.RunPython(redact_individual_answers, migrations.RunPython.noop),
    ]
