"""A real Celery worker on Redis consumes KAM's tasks."""

import pytest

from kam.tasks import ping

pytestmark = pytest.mark.slow


def test_real_worker_answers_a_task(celery_worker):
    result = ping.delay()
    assert result.get(timeout=30) == "pong"
