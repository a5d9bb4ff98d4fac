"""Tier and band stability rules (DOMAIN.md §1.6, §1.8), including the §1.8 worked sequence."""

import itertools
from decimal import Decimal

from tiering.hysteresis import (
    BandRules,
    CapEntry,
    TierRules,
    TierState,
    apply_t1_cap,
    band_step,
    target_tier,
    tier_step,
)

D = Decimal
RULES = TierRules(entries=(D(75), D(60), D(40)), band_gap=D(5), consecutive=2, min_residence=2)
BANDS = BandRules(yellow_min=D(50), green_min=D(75), min_cross=D(3), consecutive_runs=2)


def run(state, scores, **kwargs):
    trail = []
    for score in scores:
        state, reason = tier_step(
            state, None if score is None else D(score), kwargs.get("gate"), RULES, demotion_frozen=kwargs.get("frozen", False)
        )
        trail.append((state.tier, state.up_streak, state.down_streak, reason))
    return state, trail


def test_worked_sequence_of_section_1_8():
    """T1 entry 75 / exit 70: Q1 73 stays T2; Q2 77 and Q3 76 promote (from Q4); Q4 72 stays T1;
    Q1 69 is demotion candidate 1; Q2 74 resets the counter."""
    _, trail = run(TierState("T2", residence=4), [73, 77, 76, 72, 69, 74])
    assert trail == [
        ("T2", 0, 0, ""),
        ("T2", 1, 0, ""),
        ("T1", 0, 0, "promoted"),
        ("T1", 0, 0, ""),
        ("T1", 0, 1, ""),
        ("T1", 0, 0, ""),
    ]


def test_demotion_needs_two_consecutive_evaluations_below_exit():
    _, trail = run(TierState("T1", residence=4), [69, 68])
    assert [t[0] for t in trail] == ["T1", "T2"]
    assert trail[-1][3] == "demoted"


def test_one_step_per_evaluation_even_on_a_collapse():
    state, trail = run(TierState("T1", residence=4), [10, 10, 10, 10, 10, 10, 10, 10])
    tiers = ["T1"] + [t[0] for t in trail]
    assert all(abs(int(a[1]) - int(b[1])) <= 1 for a, b in itertools.pairwise(tiers))
    # Two evaluations of evidence, then two of residence, per step: T2 after 2, T3 after 4, T4 after 6.
    assert tiers[2] == "T2" and tiers[4] == "T3" and tiers[6] == "T4"
    assert state.tier == "T4"


def test_minimum_residence_blocks_a_quick_return():
    state = TierState("T2", residence=0)  # just changed
    state, reason = tier_step(state, D(90), None, RULES)
    assert (state.tier, state.up_streak, reason) == ("T2", 1, "")  # residence 1 < 2
    state, reason = tier_step(state, D(90), None, RULES)
    assert (state.tier, reason) == ("T1", "promoted")


def test_renewal_freeze_blocks_demotion_but_keeps_counting():
    state, trail = run(TierState("T2", residence=4), [30, 30, 30], frozen=True)
    assert [t[0] for t in trail] == ["T2", "T2", "T2"]
    assert state.down_streak == 3
    state, reason = tier_step(state, D(30), None, RULES)  # the renewal is done: demoted at once
    assert (state.tier, reason) == ("T3", "demoted")


def test_gate_rule_counts_as_t1_entry_and_blocks_t1_exit():
    assert target_tier(D(20), True, RULES) == "T1"
    _, trail = run(TierState("T2", residence=4), [50, 50], gate=True)
    assert trail[-1][0] == "T1"
    _, trail = run(TierState("T1", residence=4), [50, 50], gate=True)
    assert [t[0] for t in trail] == ["T1", "T1"]


def test_first_evaluation_assigns_the_target_at_once_and_no_evidence_keeps_the_tier():
    state, reason = tier_step(TierState(), D(61), None, RULES)
    assert (state.tier, reason) == ("T2", "initial")
    assert tier_step(TierState(), None, None, RULES) == (TierState(), "")
    kept, reason = tier_step(TierState("T3", up_streak=1, residence=3), None, None, RULES)
    assert (kept.tier, kept.up_streak, kept.residence, reason) == ("T3", 0, 4, "")


def entry(key, previous, new, score):
    return CapEntry(key, previous, new, "", D(score))


def test_t1_cap_keeps_incumbents_then_the_best_newcomers():
    entries = [
        entry(1, TierState("T1", residence=5), TierState("T1", residence=6), 72),  # incumbent, lower score
        entry(2, TierState("T2", up_streak=1, residence=5), TierState("T1"), 95),
        entry(3, TierState("T2", up_streak=1, residence=5), TierState("T1"), 90),
        entry(4, TierState(), TierState("T1"), 99),  # first evaluation
        entry(5, TierState("T2", residence=5), TierState("T2", residence=6), 70),
    ]
    changes, candidates = apply_t1_cap(entries, max_t1=2)
    assert candidates == {2, 3}  # newcomers rank by score: 99 (first evaluation) before 95 and 90
    assert changes[3][0].tier == "T2" and changes[3][0].up_streak == 2  # keeps competing next time
    assert 1 not in changes and 4 not in changes
    changes, candidates = apply_t1_cap(entries, max_t1=1)
    assert candidates == {2, 3, 4}
    assert changes[4] == (TierState("T2"), "initial")


def test_t1_cap_lowered_moves_the_weakest_incumbents_out():
    entries = [entry(k, TierState("T1", residence=5), TierState("T1", residence=6), 80 + k) for k in range(1, 5)]
    changes, candidates = apply_t1_cap(entries, max_t1=3)
    assert candidates == {1}
    assert changes[1] == (TierState("T2"), "capped")


def bands(scores, start="yellow"):
    band, streak, trail = start, 0, []
    for score in scores:
        band, streak = band_step(band, streak, None if score is None else D(score), BANDS)
        trail.append(band)
    return trail


def test_band_changes_at_once_three_points_beyond_the_edge():
    assert bands([47]) == ["red"]
    assert bands([78]) == ["green"]
    assert bands([20], start="green") == ["red"]


def test_band_changes_after_two_runs_beyond_the_edge():
    assert bands([48, 49]) == ["yellow", "red"]
    assert bands([48, 51, 49, 52]) == ["yellow"] * 4  # not consecutive


def test_band_grey_comes_and_goes_at_once():
    assert bands([None, 60, 49]) == ["grey", "yellow", "yellow"]
    assert bands([62], start="") == ["yellow"]
