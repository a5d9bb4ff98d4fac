"""KAM: the project package (settings, URLs, Celery) and the core app (jobs, roles, shared helpers)."""

from kam.celery import app as celery_app

__all__ = ["celery_app"]
