"""The fault table: each fault, events sent / accepted / landed / duplicated, before and after
replay + compaction (``python -m bench.faults [--events N] [--json PATH]``; ``make faults``).

Not a timing benchmark (``bench.run`` skips it): the same scenarios as
tests/e2e/test_faults.py, printed as the Markdown table the issue asks for.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from gamepipe import faults


def main(argv: list[str] | None = None) -> None:
    """Run every fault scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=300, help="events per scenario")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # the trigger's error lines are the point
    results = faults.run_all(users=args.users, events=args.events)
    print(faults.render(results))
    if args.json:
        args.json.write_text(json.dumps([r.row() for r in results], indent=1))


if __name__ == "__main__":
    main()
