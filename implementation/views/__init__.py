"""The recording pages (server-rendered). Views are thin: they read through
implementation.selectors, write through implementation.services and map a service's
ValidationError onto the form (implementation.forms.add_service_errors)."""

from .home import home

__all__ = ["home"]
