"""Logging of expected refusals: a 403 or 404 is the platform doing its job (a user opened
another school's page, a session from another municipality), not an error. Django logs
them on `django.request` at WARNING, a 403 with the full traceback of PermissionDenied;
this filter writes them at INFO, one line without the traceback. 5xx stay as they are."""

from __future__ import annotations

import logging

EXPECTED_STATUSES = frozenset({403, 404})


class ExpectedRefusalFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in EXPECTED_STATUSES:
            record.levelno = logging.INFO
            record.levelname = logging.getLevelName(logging.INFO)
            record.exc_info = None
            record.exc_text = None
        return True
