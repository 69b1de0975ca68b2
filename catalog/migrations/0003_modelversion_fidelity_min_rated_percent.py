# The minimum share of adopted components a fidelity rating must rate before its score counts
# as measured (docs/scoring.md, "Share rated"); part of the versioned catalog like the
# fidelity threshold.

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_instrument_instrumentdomain_instrumentitem_and_more'),
    ]

    operations = [
        migrations.AddField(
            model_name='modelversion',
            name='fidelity_min_rated_percent',
            field=models.PositiveSmallIntegerField(default=80, help_text='A fidelity score counts as measured only when at least this share of the adopted components is rated (not started counts as rated, with 0 points).', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(100)], verbose_name='minimum share rated for a fidelity score (%)'),
        ),
        migrations.AddConstraint(
            model_name='modelversion',
            constraint=models.CheckConstraint(condition=models.Q(('fidelity_min_rated_percent__gte', 1), ('fidelity_min_rated_percent__lte', 100)), name='catalog_version_min_rated_range'),
        ),
    ]
