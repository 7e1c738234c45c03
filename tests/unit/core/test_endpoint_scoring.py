"""The endpoint evaluator's pure parts: prompt log-probabilities to NLL sums, the base URL."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tradetune.errors import InvalidInput, RuntimeFailure
from tradetune.evaluation.endpoint import api_base, sum_nll, token_logprobs


def test_prompt_logprobs_pick_the_prompt_token_by_id() -> None:
    entries = [
        None,
        {"11": {"logprob": -1.5, "rank": 2}},
        {"7": {"logprob": -0.1, "rank": 1}, "12": {"logprob": -2.0, "rank": 3}},
    ]
    assert token_logprobs(entries, [5, 11, 12]) == [None, -1.5, -2.0]


def test_sums_follow_the_offline_rule_first_target_and_max_length() -> None:
    logprobs = [None, -1.0, -2.0, -3.0, -4.0]
    whole = sum_nll(logprobs, first_target=3, max_length=1024)
    assert (whole.full_nll, whole.full_tokens) == (10.0, 4)
    assert (whole.response_nll, whole.response_tokens) == (7.0, 2)
    cut = sum_nll(logprobs, first_target=3, max_length=4)
    assert (cut.full_nll, cut.full_tokens, cut.response_nll, cut.response_tokens) == (6.0, 3, 3.0, 1)


def test_a_non_finite_log_probability_is_an_error() -> None:
    with pytest.raises(RuntimeFailure, match="non-finite"):
        sum_nll([None, -math.inf], first_target=1, max_length=10)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://svc:8000", "http://svc:8000/v1"),
        ("http://svc:8000/", "http://svc:8000/v1"),
        ("https://svc/v1", "https://svc/v1"),
    ],
)
def test_api_base(url: str, base: str) -> None:
    assert api_base(url) == base


def test_a_url_without_scheme_is_refused() -> None:
    with pytest.raises(InvalidInput, match="--endpoint svc:8000"):
        api_base("svc:8000")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ([], "--model: give a model directory, or --endpoint URL"),
        (["--endpoint", "http://127.0.0.1:9", "--base", "x"], "--base: not available with --endpoint"),
        (["--endpoint", "http://127.0.0.1:9", "--api", "grpc"], "--api grpc: use completions or chat"),
        (["--endpoint", "127.0.0.1:9"], "--endpoint 127.0.0.1:9: give an http:// or https:// URL"),
        (["--endpoint", "http://127.0.0.1:9", "--api-key-env", "TT_UNSET_KEY_VAR"], "TT_UNSET_KEY_VAR"),
    ],
)
def test_evaluate_flags_are_checked_with_one_clear_message(
    args: list[str],
    text: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tradetune.cli import main

    monkeypatch.delenv("TT_UNSET_KEY_VAR", raising=False)
    monkeypatch.setenv("TRADETUNE_RESULT_PATH", str(tmp_path / "termination"))
    data = tmp_path / "test.jsonl"
    data.write_text('{"instruction": "a", "response": "b"}\n')
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--data", str(data), "--output", str(tmp_path / "e"), *args])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_an_unreachable_endpoint_is_exit_1_and_reported_in_the_termination_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from tradetune.cli import main
    from tradetune.serving import free_port

    monkeypatch.setenv("TRADETUNE_RESULT_PATH", str(tmp_path / "termination"))
    data = tmp_path / "test.jsonl"
    data.write_text('{"instruction": "a", "response": "b"}\n')
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "evaluate",
                "--endpoint",
                url,
                "--model",
                "m",
                "--data",
                str(data),
                "-o",
                str(tmp_path / "e"),
                "--json",
            ]
        )
    assert done.value.code == 1
    assert "cannot reach the server" in capsys.readouterr().err
    result = json.loads((tmp_path / "termination").read_text())
    assert (result["outcome"], result["reason"]) == ("Failed", "EndpointUnreachable")
