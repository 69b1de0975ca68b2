"""Reads of tenant data, always through a user's access (accounts.selectors.TenantAccess)."""

from __future__ import annotations

from django.db.models import Count, QuerySet, Sum

from accounts.selectors import TenantAccess

from .models import School


def schools_for(access: TenantAccess) -> QuerySet[School]:
    qs = School.objects.all()
    ids = access.school_ids
    if ids is not None:
        qs = qs.filter(id__in=ids)
    return qs.annotate(
        position_count=Count("positions"), position_percent_total=Sum("positions__position_percent")
    ).order_by("name")
