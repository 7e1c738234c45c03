"""A checker process for the pool: one JSON program per stdin line, one JSON result per stdout line.

Run as `python -m tradetune.evaluation.pine.worker`. It warms pynescript up before it says
`ready`, so the warm-up never counts against a program's time limit, and it stays alive across
programs so the parser's caches keep getting warmer.
"""

from __future__ import annotations

import json
import sys

from tradetune.evaluation.pine.check import check_code

WARM_UP = (
    '//@version=5\nindicator("warm-up", overlay=true)\nx = ta.sma(close, 14)\n'
    "if x > 0\n    x := x + 1\nplot(x, color=color.red)\n"
)


def main() -> None:
    check_code(WARM_UP)
    out = sys.stdout
    out.write('"ready"\n')
    out.flush()
    for line in sys.stdin:
        code = json.loads(line)
        result = check_code(code)
        out.write(
            json.dumps({"parsed": result.parsed, "findings": [f.to_tuple() for f in result.findings]}) + "\n"
        )
        out.flush()


if __name__ == "__main__":
    main()
