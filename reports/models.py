"""KPI snapshots and targets (issue: KPI engine)."""
