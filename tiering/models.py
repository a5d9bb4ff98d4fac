"""Scoring models, score snapshots and tier assignments (issue: tiering)."""
