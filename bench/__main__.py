"""`python -m bench [--scale small|full] [--only a,b] [--rebuild]` (what `make bench` runs)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import SCALES, case_env
from bench.dataset import ensure_dataset
from bench.registry import load_cases

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


def run_case(scale_name: str, case_name: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.worker", scale_name, case_name],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    lines = [line for line in output.splitlines() if line.startswith("BENCH-RESULT ")]
    if code or not lines:
        return {"name": case_name, "error": f"exit {code}", "output": output[-2000:]}
    result = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    result.setdefault("peak_mb", usage.ru_maxrss // 1024)
    return result


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value * 1000:.1f} ms" if unit == "ms" else f"{value:.2f} s"
    return str(value)


# Cases that rewrite many rows. A production PostgreSQL runs autovacuum, which cleans up after them
# before the next pages are read; a server with autovacuum off (this development host) would leave the
# dead rows to every later case (an index-only scan turning into a heap visit per row). So when
# autovacuum is off, the bench does its work after these cases, and says so.
WRITE_HEAVY = ("recompute_", "refresh_", "evaluate_", "import_")


def _stand_in_for_autovacuum(scale: Any, after: str) -> None:
    import psycopg2

    conn = psycopg2.connect(scale.database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            if cursor.fetchone()[0] == "on":
                return
            print(f"bench: autovacuum is off on this server: VACUUM ANALYZE after {after}, as autovacuum would", flush=True)
            cursor.execute("VACUUM ANALYZE")
    finally:
        conn.close()


def _cpu_reference_s() -> float:
    """Seconds for a fixed pure-Python loop (best of three): the speed of one core when the cases
    ran, so that figures from different hosts (or a host with busy neighbours) can be compared."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", default=os.environ.get("BENCH_SCALE", "small"), choices=sorted(SCALES))
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="comma-separated case names")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the dataset even if present")
    args = parser.parse_args()
    scale = SCALES[args.scale]
    cases = load_cases()
    selected = [name for name in cases if not args.only or name in args.only.split(",")]
    dataset = ensure_dataset(scale, rebuild=args.rebuild)
    results: list[dict[str, Any]] = [
        {
            "name": "seed_demo",
            "scale": scale.name,
            "median_s": dataset["seconds"],
            "p95_s": dataset["seconds"],
            "peak_mb": dataset["peak_mb"],
            "target": "100k accounts / ~1M invoices < 180 s, < 1 GiB",
            "note": f"built {dataset['built_at']}" + (" (reused)" if dataset["reused"] else ""),
        }
    ]
    env = case_env(scale)
    for name in selected:
        print(f"bench: {name} …", flush=True)
        started = time.perf_counter()
        result = run_case(scale.name, name, env)
        result.update({"name": name, "scale": scale.name, "target": cases[name].target, "unit": cases[name].unit})
        result["wall_s"] = round(time.perf_counter() - started, 2)
        results.append(result)
        if name.startswith(WRITE_HEAVY):
            _stand_in_for_autovacuum(scale, name)
    header = (
        f"{'case':<34} {'median':>11} {'p95':>11} {'floor':>11} {'ratio':>6} {'queries':>8} {'peak MB':>8} {'req/s':>7}  target"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        unit = r.get("unit", "s")
        if "error" in r:
            print(f"{r['name']:<34} ERROR {r['error']}\n{r.get('output', '')}")
            continue
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "—"
        rps = f"{r['rps']:.0f}" if r.get("rps") is not None else "—"
        print(
            f"{r['name']:<34} {_fmt(r.get('median_s'), unit):>11} {_fmt(r.get('p95_s'), unit):>11} "
            f"{_fmt(r.get('floor_s'), unit):>11} {ratio:>6} {r.get('queries', '—')!s:>8} {r.get('peak_mb', '—')!s:>8} {rps:>7}  {r.get('target', '')}"
        )
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_reference_s": _cpu_reference_s(),
    }
    RESULTS.write_text(
        json.dumps(
            {"scale": scale.name, "machine": machine, "at": time.strftime("%Y-%m-%d %H:%M:%S"), "cases": results}, indent=2
        )
    )
    print(f"\nbench: results written to {RESULTS.relative_to(ROOT)}")
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
