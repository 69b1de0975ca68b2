# Why an adopted component was left without a fidelity rating (docs/scoring.md). Existing
# answers keep NULL: a NULL value without a reason counts as "not assessed".

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('implementation', '0002_assessmentround_componentadoption_and_more'),
    ]

    operations = [
        migrations.AddField(
            model_name='answer',
            name='unrated_reason',
            field=models.CharField(blank=True, choices=[('not_started', 'not started'), ('not_applicable', 'not applicable this round'), ('not_assessed', 'not assessed')], max_length=20, null=True, verbose_name='why not rated'),
        ),
        migrations.AddConstraint(
            model_name='answer',
            constraint=models.CheckConstraint(condition=models.Q(('unrated_reason__isnull', True), models.Q(('adoption__isnull', False), ('unrated_reason__in', ['not_started', 'not_applicable', 'not_assessed']), ('value__isnull', True)), _connector='OR'), name='answer_reason_only_unrated_fidelity'),
        ),
    ]
