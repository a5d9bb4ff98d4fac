"""The case registry. A case is a function run inside a fresh subprocess with Django set up on the
scale's database; it returns a dict of measurements (see bench/measure.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[..., dict[str, Any]]
    target: str  # the target, shown beside the result
    unit: str = "s"  # "s" for jobs and commands, "ms" for requests


CASES: dict[str, Case] = {}


def case(name: str, *, target: str, unit: str = "s") -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    def register(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        CASES[name] = Case(name, fn, target, unit)
        return fn

    return register


def load_cases() -> dict[str, Case]:
    import importlib
    import pkgutil

    import bench.cases

    for module in pkgutil.iter_modules(bench.cases.__path__):
        importlib.import_module(f"bench.cases.{module.name}")
    return CASES
