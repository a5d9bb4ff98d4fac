"""Deterministic sample files for the benchmark and the tests: ``n`` accounts in groups (parents
after some of their subsidiaries, as real exports list them) and ``n`` contracts on them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

ACCOUNT_HEADERS = ["external_id", "name", "parent", "owner", "industry", "region", "currency", "status",
                   "credit_rating", "payment_terms_days", "market_influence", "wallet_estimate_amount"]  # fmt: skip
CONTRACT_HEADERS = ["number", "account", "title", "start_date", "end_date", "annual_value", "currency", "status", "auto_renew"]
INDUSTRIES = ["manufacturing", "retail", "finance", "technology", "healthcare", "energy", "logistics"]


def accounts_csv(n: int, *, owner: str, prefix: str = "S", seed: int = 1) -> bytes:
    """``n`` accounts; one in five is a subsidiary of the group root listed *after* it."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ACCOUNT_HEADERS)
    for i in range(n):
        root = i - i % 5 + 4 if i % 5 != 4 and i - i % 5 + 4 < n else None
        writer.writerow([
            f"{prefix}-{i:07d}", f"样本客户 {prefix}{i:07d} 有限公司", f"{prefix}-{root:07d}" if root is not None and i % 5 == 0 else "",
            owner, rng.choice(INDUSTRIES), rng.choice(["华东", "华北", "华南"]), "CNY", "active", rng.choice("ABCDE"),
            rng.choice([30, 45, 60]), rng.randint(1, 5), f"{rng.uniform(1e5, 1e8):.2f}",
        ])  # fmt: skip
    return out.getvalue().encode()


def contracts_csv(n: int, *, accounts: int = 0, prefix: str = "S", seed: int = 2, account_refs: list[str] | None = None) -> bytes:
    """``n`` contracts on the accounts ``accounts_csv(accounts, prefix=prefix)`` makes, or on
    ``account_refs`` (external ids or names of existing accounts)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CONTRACT_HEADERS)
    for i in range(n):
        start = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 1500))
        writer.writerow([
            f"{prefix}C-{i:08d}", rng.choice(account_refs) if account_refs else f"{prefix}-{rng.randrange(accounts):07d}",
            f"合同 {i}", start.isoformat(),
            (start + dt.timedelta(days=364)).isoformat(), f"{rng.uniform(1e4, 1e7):.2f}", "CNY", "active", rng.choice(["true", "false"]),
        ])  # fmt: skip
    return out.getvalue().encode()
