from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets

from implementation.models import School
from implementation.selectors import schools_for

from .permissions import HasTenantAccess
from .serializers import SchoolSerializer


class SchoolViewSet(viewsets.ReadOnlyModelViewSet[School]):
    """Schools of the municipality that the signed-in user may see."""

    serializer_class = SchoolSerializer
    permission_classes = [HasTenantAccess]
    filterset_fields = ["grade_from", "grade_to"]

    def get_queryset(self) -> QuerySet[School]:
        return schools_for(self.request._request.access).prefetch_related("positions")  # type: ignore[attr-defined]
