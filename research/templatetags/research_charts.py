from typing import Any

from django import template

from research.charts import figure_table as build_figure_table

register = template.Library()


@register.filter
def figure_table(figure: dict[str, Any] | None) -> dict[str, Any]:
    return build_figure_table(figure)
