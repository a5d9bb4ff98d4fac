"""Writes of the service plans app, grouped by theme; import from the submodules
(``service_plans.services.alerts``, ``.plans``, ``.sla``, ``.standards``, ``.delivery``)."""
