"""Stability rules for tiers and health bands (DOMAIN.md §1.6, §1.8, §2.2), free of the database.

Tiers move only on evidence that lasts: a score must stay above the entry threshold of the tier
above (or below the exit threshold of its own tier, entry − band gap) for ``consecutive``
evaluations in a row, the move is one step, and after any move the group stays put for
``min_residence`` evaluations. Health bands change when the score is well beyond the band's edge,
or beyond it for several daily runs in a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from tiering.choices import TierChangeReason

TIERS = ("T1", "T2", "T3", "T4")


@dataclass(frozen=True)
class TierRules:
    entries: tuple[Decimal, Decimal, Decimal]  # T1, T2, T3 entry scores; T4 has none
    band_gap: Decimal
    consecutive: int
    min_residence: int

    def entry(self, tier: str) -> Decimal | None:
        index = TIERS.index(tier)
        return self.entries[index] if index < 3 else None

    def exit(self, tier: str) -> Decimal | None:
        entry = self.entry(tier)
        return None if entry is None else entry - self.band_gap


@dataclass(frozen=True)
class TierState:
    """A group's computed tier and the counters that carry evidence from one evaluation to the next."""

    tier: str = ""  # "" = none yet
    up_streak: int = 0
    down_streak: int = 0
    residence: int = 0  # evaluations since the last change (0 at the change itself)


def target_tier(score: Decimal | None, gate: bool | None, rules: TierRules) -> str:
    """The tier the score alone (or the gate rule, for T1) points at; "" without evidence."""
    if gate is True:
        return "T1"
    if score is None:
        return ""
    for tier in TIERS[:3]:
        if score >= rules.entry(tier):
            return tier
    return "T4"


def qualifies_for(tier: str, score: Decimal | None, gate: bool | None, rules: TierRules) -> bool:
    if tier == "T1" and gate is True:
        return True
    entry = rules.entry(tier)
    return score is not None and entry is not None and score >= entry


def tier_step(
    state: TierState, score: Decimal | None, gate: bool | None, rules: TierRules, *, demotion_frozen: bool = False
) -> tuple[TierState, str]:
    """One evaluation of the tier state machine. Returns the new state and the change reason ("" if none).

    An evaluation without evidence (insufficient data and no gate result) keeps the tier and
    breaks the streaks: "consecutive" means consecutive evaluations with evidence.
    """
    if not state.tier:
        target = target_tier(score, gate, rules)
        if not target:
            return state, ""
        return TierState(tier=target), TierChangeReason.INITIAL
    residence = state.residence + 1
    if score is None and gate is not True:
        return TierState(state.tier, 0, 0, residence), ""
    index = TIERS.index(state.tier)
    above = TIERS[index - 1] if index > 0 else None
    below = TIERS[index + 1] if index < len(TIERS) - 1 else None
    exit_score = rules.exit(state.tier)
    rises = above is not None and qualifies_for(above, score, gate, rules)
    falls = (
        below is not None
        and exit_score is not None
        and score is not None
        and score < exit_score
        and not (state.tier == "T1" and gate is True)
    )
    up = state.up_streak + 1 if rises else 0
    down = state.down_streak + 1 if falls else 0
    settled = residence >= rules.min_residence
    if rises and up >= rules.consecutive and settled:
        return TierState(tier=above), TierChangeReason.PROMOTED
    if falls and down >= rules.consecutive and settled and not demotion_frozen:
        return TierState(tier=below), TierChangeReason.DEMOTED
    return TierState(state.tier, up, down, residence), ""


@dataclass(frozen=True)
class CapEntry:
    key: int
    previous: TierState
    new: TierState
    reason: str
    score: Decimal | None


def apply_t1_cap(entries: Sequence[CapEntry], max_t1: int) -> tuple[dict[int, tuple[TierState, str]], set[int]]:
    """Keep at most ``max_t1`` groups in T1 (§1.6); the others become T1 candidates.

    Groups already in T1 keep their seat before newcomers (their tier is settled by hysteresis,
    and a newcomer's higher score must not push them out); within each, the higher score wins, then
    the lower id. A newcomer over the cap stays where it was, keeping its streak so that it
    competes again next time; an incumbent over the cap (the cap was lowered) drops to T2.
    Returns the adjusted states and the set of candidates.
    """
    in_t1 = [e for e in entries if e.new.tier == "T1"]
    if len(in_t1) <= max_t1:
        return {}, set()

    def rank(e: CapEntry) -> tuple:
        return (e.previous.tier != "T1", -(e.score if e.score is not None else Decimal(-1)), e.key)

    in_t1.sort(key=rank)
    changes: dict[int, tuple[TierState, str]] = {}
    candidates: set[int] = set()
    for entry in in_t1[max_t1:]:
        candidates.add(entry.key)
        if entry.previous.tier == "T1":
            changes[entry.key] = (TierState(tier="T2"), TierChangeReason.CAPPED)
        elif entry.previous.tier:
            # Promotion refused for now: the group stays put, its evidence kept for the next evaluation.
            kept = replace(
                entry.previous, up_streak=entry.previous.up_streak + 1, down_streak=0, residence=entry.previous.residence + 1
            )
            changes[entry.key] = (kept, "")
        else:
            changes[entry.key] = (TierState(tier="T2"), TierChangeReason.INITIAL)
    return changes, candidates


# --- Health bands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandRules:
    yellow_min: Decimal
    green_min: Decimal
    min_cross: Decimal
    consecutive_runs: int


def band_of(score: Decimal | None, rules: BandRules) -> str:
    """Half-open bands: red [0, yellow), yellow [yellow, green), green [green, 100]; grey without a score."""
    if score is None:
        return "grey"
    if score < rules.yellow_min:
        return "red"
    if score < rules.green_min:
        return "yellow"
    return "green"


def _edges(band: str, rules: BandRules) -> tuple[Decimal, Decimal]:
    return {
        "red": (Decimal(0), rules.yellow_min),
        "yellow": (rules.yellow_min, rules.green_min),
        "green": (rules.green_min, Decimal(101)),
    }[band]


def band_step(previous: str, streak: int, score: Decimal | None, rules: BandRules) -> tuple[str, int]:
    """One run of the band hysteresis (§1.8 "Health colours"). Returns the band and the new streak.

    The band changes when the score is at least ``min_cross`` points beyond an edge of the current
    band, or beyond it (on the same side) for ``consecutive_runs`` runs in a row. The streak is
    positive above the band and negative below it. Grey (no score) comes and goes at once.
    """
    raw = band_of(score, rules)
    if not previous or previous == "grey" or raw == "grey":
        return raw, 0
    if raw == previous:
        return previous, 0
    low, high = _edges(previous, rules)
    if score < low:
        depth, side = low - score, -1
    else:
        depth, side = score - high, 1
    if depth >= rules.min_cross:
        return raw, 0
    streak = streak + side if streak * side > 0 else side
    if abs(streak) >= rules.consecutive_runs:
        return raw, 0
    return previous, streak


def trend_of(delta: Decimal | None, deadband: Decimal) -> str:
    """ "up" at +deadband or more, "down" at −deadband or less, else "flat" (§2.2); "" when unknown."""
    if delta is None:
        return ""
    if delta >= deadband:
        return "up"
    if delta <= -deadband:
        return "down"
    return "flat"
