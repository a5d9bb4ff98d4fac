"""Run one case in this process: `python -m bench.worker <scale> <case>`; prints one JSON line."""

from __future__ import annotations

import json
import sys


def main() -> None:
    scale_name, case_name = sys.argv[1], sys.argv[2]
    import django

    django.setup()
    from bench.config import SCALES
    from bench.registry import load_cases

    result = load_cases()[case_name].fn(scale=SCALES[scale_name])
    print("BENCH-RESULT " + json.dumps(result, default=str))


if __name__ == "__main__":
    main()
