"""The Celery application.

Configuration lives in ``kam/settings.py`` under the ``CELERY_`` prefix, including the one beat
schedule. Tasks are thin (STYLE.md): ids in, one service call, a small JSON result out.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.settings")

app = Celery("kam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
