"""The workspace stores nothing of its own; it reads and writes through the other apps.

This module exists so that Django treats ``web`` as an app with models: ``post_migrate`` skips apps
without a models module, and ``kam.roles.sync_role_groups`` runs on the last app's signal.
"""
