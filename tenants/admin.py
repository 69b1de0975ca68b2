from django.contrib import admin
from django.http import HttpRequest

from .models import Domain, Municipality


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    readonly_fields = ("domain", "is_primary")
    can_delete = False


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    """Read-mostly: municipalities are created with `manage.py create_municipality`, which
    builds the schema in the same transaction; the admin must not create half a tenant."""

    list_display = ("name", "kommunenummer", "county_name", "slug", "schema_name", "created_at")
    search_fields = ("name", "kommunenummer", "slug")
    readonly_fields = ("schema_name", "slug", "kommunenummer", "created_at")
    inlines = [DomainInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
