"""The endpoint evaluator's pure parts: prompt log-probabilities to NLL sums, the base URL."""

from __future__ import annotations

import math

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
