"""The worker pool: same answers as the in-process check, a time bound with its own code, the CLI.

Each test starts real checker processes (each warms pynescript up, seconds on a busy machine).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tradetune.evaluation.pine import check_code, check_programs, pine_report

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
GOOD = '//@version=5\nindicator("good")\nx = ta.sma(close, 14)\nplot(x)\n'
BAD = '//@version=5\nstrategy("bad")\nstrategy.entri("L", strategy.long)\n'


def _long_program(lines: int) -> str:
    body = "".join(
        f"v{i} = ta.sma(close, {i + 1}) + math.max(high[{i % 5}], low) * {i}\n" for i in range(lines)
    )
    return '//@version=5\nindicator("long")\n' + body + "plot(v0)\n"


def test_pool_gives_the_in_process_answers_in_order() -> None:
    results = check_programs([GOOD, BAD, GOOD], workers=2, timeout_s=600)
    assert [r.valid for r in results] == [True, False, True]
    assert results[1].findings == check_code(BAD).findings
    assert [f.code for f in results[1].findings] == ["PINE-E101"]


def test_a_program_past_its_limit_is_invalid_with_its_own_code() -> None:
    slow = _long_program(1500)
    (result,) = check_programs([slow], workers=1, timeout_s=0.05)
    assert not result.valid and not result.parsed
    assert [f.code for f in result.findings] == ["PINE-E002"]
    # a timeout is not remembered: with time enough the same program is checked
    (again,) = check_programs([slow[: slow.index("v20 =")] + "plot(v0)\n"], workers=1, timeout_s=600)
    assert again.valid


def test_report_counts_parse_and_valid_rates_separately() -> None:
    report = pine_report([GOOD, BAD + "---\nexplanation", "plot(close"], workers=1, timeout_s=600)
    assert report.parse_rate == pytest.approx(2 / 3)
    assert report.valid_rate == pytest.approx(1 / 3)
    assert report.syntax_score is not None


def test_a_fragment_without_a_declaration_parses_but_is_not_a_script() -> None:
    # A base model that answers "write an RSI indicator" with one line has written no program:
    # the grammar accepts it, TradingView does not (every script declares itself), and
    # pineParseRate counts scripts.
    fragment = "value = ta.atr(14)\nplot(value, color=color.blue)\n"
    result = check_code(fragment)
    assert result.parsed and not result.script and not result.valid
    assert check_code(GOOD).script and check_code(BAD).script  # BAD declares itself; its error is a name
    report = pine_report([GOOD, fragment, fragment], workers=1, timeout_s=600)
    assert report.parse_rate == pytest.approx(1 / 3)
    assert report.valid_rate == pytest.approx(1 / 3)


def test_cli_lints_files_with_line_numbers_and_exit_codes(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.pine", tmp_path / "bad.pine"
    good.write_text(GOOD)
    bad.write_text(BAD + "x := 1\n")
    run = subprocess.run(
        [sys.executable, "-m", "tradetune", "pine", "check", str(good), str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 2, run.stderr
    assert run.stdout.splitlines() == [
        f"{bad}:3: PINE-E101 unknown function strategy.entri (did you mean strategy.entry?)",
        f"{bad}:4: PINE-E301 'x' is assigned with := but not declared; declare it first ('x = ...')",
    ]
    assert "2 file(s) checked: 1 valid, 1 with errors" in run.stderr
    clean = subprocess.run(
        [sys.executable, "-m", "tradetune", "pine", "check", str(good)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert clean.returncode == 0 and clean.stdout == ""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.pine", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "bin.pine").write_bytes(b"\xff\xfe\x00") and p / "bin.pine", "not UTF-8"),
    ],
    ids=["missing", "directory", "binary"],
)
def test_cli_bad_file_is_one_clear_line(tmp_path: Path, make: object, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    run = subprocess.run(
        [sys.executable, "-m", "tradetune", "pine", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
