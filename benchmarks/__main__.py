"""``python -m benchmarks`` runs every benchmark; ``python -m benchmarks NAME [options]`` one.

Options after the name go to that benchmark (``python -m benchmarks queue_scale --help``).
"""

from __future__ import annotations

import importlib
import sys

from benchmarks import BENCHMARKS


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("benchmarks:", ", ".join(BENCHMARKS))
        return 0
    if argv and not argv[0].startswith("-"):
        name, rest = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        return importlib.import_module(f"benchmarks.{name}").main(rest)
    status = 0
    for name in BENCHMARKS:
        print(f"== benchmark {name} ==", flush=True)
        status = importlib.import_module(f"benchmarks.{name}").main(argv) or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
