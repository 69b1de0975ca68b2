# The share of adopted components a fidelity score rests on, and whether it counts as
# measured (docs/scoring.md). Existing rows are brought up to the new rule in place (before
# reasons existed, every unrated component counts as "not assessed", so the stored counts
# are already right), and every school is marked for recomputation, which also rebuilds the
# spread across schools (it now only judges measured scores).

from django.db import migrations, models

UPDATE_EXISTING = """
UPDATE dashboards_fidelityaggregate f
SET min_rated_percent = v.fidelity_min_rated_percent,
    rated_share_percent = CASE WHEN f.rated_count + f.unrated_count > 0
        THEN round(f.rated_count * 100::numeric / (f.rated_count + f.unrated_count), 1) END,
    measured = f.rated_count > 0
        AND f.rated_count * 100 >= v.fidelity_min_rated_percent * (f.rated_count + f.unrated_count),
    meets_threshold = CASE WHEN f.rated_count > 0
        AND f.rated_count * 100 >= v.fidelity_min_rated_percent * (f.rated_count + f.unrated_count)
        THEN f.meets_threshold END
FROM implementation_assessmentround ar
JOIN catalog_modelversion v ON v.id = ar.model_version_id
WHERE ar.id = f.round_id
"""

MARK_SCHOOLS = """
INSERT INTO dashboards_pendingrecompute (school_id, requested_at, attempts, last_error)
SELECT DISTINCT school_id, clock_timestamp(), 0, '' FROM dashboards_fidelityaggregate
ON CONFLICT (school_id) DO UPDATE SET requested_at = clock_timestamp(), attempts = 0
"""


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0003_modelversion_fidelity_min_rated_percent'),
        ('dashboards', '0001_initial'),
        ('implementation', '0003_fidelity_unrated_reason'),
    ]

    operations = [
        migrations.AddField(
            model_name='fidelityaggregate',
            name='not_started_count',
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name='fidelityaggregate',
            name='rated_share_percent',
            field=models.DecimalField(decimal_places=1, max_digits=4, null=True),
        ),
        migrations.AddField(
            model_name='fidelityaggregate',
            name='min_rated_percent',
            field=models.PositiveSmallIntegerField(db_default=80, default=80),
        ),
        migrations.AddField(
            model_name='fidelityaggregate',
            name='measured',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunSQL(UPDATE_EXISTING, migrations.RunSQL.noop),
        migrations.RunSQL(MARK_SCHOOLS, migrations.RunSQL.noop),
    ]
