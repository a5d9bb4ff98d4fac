"""The REST API's building blocks, shared by every app's ``<app>/api.py``.

- ``authentication``: ``Authorization: Token kam_…`` (integrations) and the session (browser).
- ``permissions``: token scope (a read-only token cannot write: 403) and role permissions from
  ``kam.roles.ROLE_PERMISSIONS`` (executives read, administrators configure, managers write the data
  of the accounts they see). Visibility is not a permission: querysets start from ``visible_to``, so
  another manager's object is a 404.
- ``viewsets.ServiceViewSet``: lists with constant query counts, writes through the app's services,
  ``ETag``/``If-Match`` (412), ``Idempotency-Key`` on POST (``idempotency``), verbs as actions.
- ``exceptions``: one error shape (``{"field": ["message"]}``, ``non_field_errors``); Django
  validation errors from services → 400, uniqueness and integrity conflicts → 409, stale versions
  → 412, broker outages → 503. Never a 500 for bad input.
- ``pagination``, ``throttling``, ``schema`` (drf-spectacular, every error status documented).

Adding a resource: write the serializer and a ``ServiceViewSet`` subclass in ``<app>/api.py`` and
list it in that module's ``ROUTES``; ``kam.api.urls`` mounts every app's ``ROUTES`` under ``/api/v1/``,
and the permission matrix test (tests/api/test_permission_matrix.py) fails until it has a row for it.
"""
