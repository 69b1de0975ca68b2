"""Settings of the workers in tests/test_fault_drills.py: the test settings, and a Redis
visibility timeout of seconds instead of the two hours of the production settings.

With late acknowledgement a message stays in Redis's ``unacked`` hash while its task runs;
when the worker is SIGKILLed, no one acknowledges or returns it, and a worker puts it back
on the queue once it is ``visibility_timeout`` seconds old (checked every
``unacked_restore_interval`` × ``unacked_restore_throttle`` seconds). In production the
timeout stays above the longest task time limit, so a running task is never handed out
twice; the drill needs the message back in seconds. A drill worker is solo and runs one
task at a time, so the short timeout cannot hand out a task it is still running.
"""

from sovei_platform.settings.base import CELERY_BROKER_TRANSPORT_OPTIONS as PRODUCTION
from sovei_platform.settings.test import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **PRODUCTION,
    "visibility_timeout": 3,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
