"""The evaluation suite against a live OpenAI-compatible server instead of an in-process model.

What users call is a server (vLLM with its own tokenizer handling, chat template, dtype and
`max-model-len`), not the trainer's process; this module measures that server with the same
items, the same metrics and the same report type as `suite.evaluate_records`:

- greedy generation through `/v1/completions` (the training prompt as text) or, with
  `api="chat"`, through `/v1/chat/completions` (the server's chat template);
- response-token perplexity through prompt log-probabilities. The example is rendered by the
  server's chat template with the assistant turn included (`add_generation_prompt=false`), so
  the end-of-sequence token is scored exactly as in training without this client having to
  know which token that is; vLLM's `prompt_logprobs` returns the log-probability of every
  prompt token. The response starts where the prompt alone ends, and the prompt alone is
  measured by the server (`usage.prompt_tokens` of the prompt with the generation header),
  the same rule as `perplexity.encode_records`.

Servers that do not return `prompt_logprobs` (not vLLM) get no perplexity: the metric is
left out rather than guessed. Requests run `concurrency` at a time on threads.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tradetune.api import EvalMetrics
from tradetune.errors import InvalidInput, RuntimeFailure
from tradetune.evaluation.accuracy import is_computed, task_accuracy
from tradetune.evaluation.perplexity import NllSums
from tradetune.evaluation.pine import PINE_TASKS, pine_metrics
from tradetune.evaluation.samples import pick_samples, sample_rows, write_samples
from tradetune.evaluation.suite import EvalOptions, EvaluationReport, generation_indices, select_items
from tradetune.progress import NullProgress, ProgressSink
from tradetune.prompt import format_prompt

Record = Mapping[str, Any]
Api = Literal["completions", "chat"]


@dataclass(frozen=True)
class Endpoint:
    """Where and how to reach the server under evaluation."""

    url: str
    model: str | None = None
    api_key: str | None = None
    concurrency: int = 4
    api: Api = "completions"
    timeout: float = 300.0


@dataclass(frozen=True)
class ItemNll:
    """One item's negative log-likelihood sums (response and full text) and token counts."""

    response_nll: float
    response_tokens: int
    full_nll: float
    full_tokens: int


def api_base(url: str) -> str:
    """The client's base URL: the server root or its /v1 both work."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInput(f"--endpoint {url}: give an http:// or https:// URL of the server")
    return base if base.endswith("/v1") else f"{base}/v1"


def make_client(endpoint: Endpoint) -> Any:
    """The official openai client for the endpoint (no key: a placeholder the server ignores)."""
    from openai import OpenAI

    return OpenAI(
        base_url=api_base(endpoint.url),
        api_key=endpoint.api_key or "no-key",
        timeout=endpoint.timeout,
        max_retries=2,
    )


def _call(what: str, fn: Callable[[], Any]) -> Any:
    """Run one request; map the client's errors to one clear message naming the endpoint problem."""
    import openai

    try:
        return fn()
    except openai.AuthenticationError:
        raise InvalidInput(
            f"{what}: the server refused the API key (401); pass the key's variable with --api-key-env",
            reason="EndpointUnauthorized",
        ) from None
    except openai.NotFoundError as exc:
        raise InvalidInput(
            f"{what}: not found ({_first_line(exc)}); check --model against the server's /v1/models",
            reason="EndpointModelNotFound",
        ) from None
    except openai.APIConnectionError as exc:
        raise RuntimeFailure(
            f"{what}: cannot reach the server ({_first_line(exc)}); check --endpoint and that it is up",
            reason="EndpointUnreachable",
        ) from None
    except openai.APIStatusError as exc:
        raise RuntimeFailure(
            f"{what}: the server answered {exc.status_code} ({_first_line(exc)})", reason="EndpointError"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def resolve_model(client: Any, model: str | None) -> str:
    """The served model name: the given one, or the server's only (first) model."""
    if model:
        return model
    listed = _call("GET /v1/models", client.models.list)
    names = [m.id for m in listed.data]
    if not names:
        raise RuntimeFailure("GET /v1/models: the server serves no model", reason="EndpointError")
    return str(names[0])


def _extra(obj: Any, name: str) -> Any:
    """A vendor field of a response (the client keeps unknown fields in model_extra)."""
    extra = getattr(obj, "model_extra", None) or {}
    return extra.get(name, getattr(obj, name, None))


def token_logprobs(prompt_logprobs: Sequence[Any], token_ids: Sequence[int] | None) -> list[float | None]:
    """The log-probability of each prompt token from vLLM's `prompt_logprobs` list.

    Each entry maps token id (a string in JSON) to {logprob, ...}; the first is None (nothing
    predicts the first token). With `prompt_logprobs=0` the entry holds the prompt token only;
    when it holds more, the prompt token is picked by its id.
    """
    out: list[float | None] = []
    for pos, entry in enumerate(prompt_logprobs):
        if not entry:
            out.append(None)
            continue
        if len(entry) == 1 or token_ids is None:
            value = next(iter(entry.values()))
        else:
            value = entry.get(str(token_ids[pos]), entry.get(token_ids[pos]))
        logprob = value.get("logprob") if isinstance(value, Mapping) else getattr(value, "logprob", None)
        out.append(float(logprob) if logprob is not None else None)
    return out


def sum_nll(logprobs: Sequence[float | None], first_target: int, max_length: int) -> ItemNll:
    """Sums over the scored positions, cut at `max_length` tokens as the offline path cuts."""
    n = min(len(logprobs), max_length)
    first = max(1, min(first_target, n))
    full = [-lp for lp in logprobs[1:n] if lp is not None]
    response = [-lp for lp in logprobs[first:n] if lp is not None]
    for value in full:
        if not math.isfinite(value):
            raise RuntimeFailure("the server returned a non-finite log-probability", reason="EndpointError")
    return ItemNll(sum(response), len(response), sum(full), len(full))


def score_item(client: Any, model: str, record: Record, max_length: int) -> ItemNll | None:
    """One item's NLL sums through two chat requests; None when the server gives no prompt log-probs."""
    user = {"role": "user", "content": record["instruction"]}
    what = f"POST /v1/chat/completions (model {model})"
    prompt_only = _call(
        what,
        lambda: client.chat.completions.create(
            model=model,
            messages=[user],
            max_tokens=1,
            temperature=0.0,
            extra_body={"add_generation_prompt": True},
        ),
    )
    whole = _call(
        what,
        lambda: client.chat.completions.create(
            model=model,
            messages=[user, {"role": "assistant", "content": record["response"]}],
            max_tokens=1,
            temperature=0.0,
            extra_body={
                "add_generation_prompt": False,
                "prompt_logprobs": 0,
                "return_token_ids": True,
            },
        ),
    )
    prompt_logprobs = _extra(whole, "prompt_logprobs")
    if not prompt_logprobs or prompt_only.usage is None:
        return None
    logprobs = token_logprobs(prompt_logprobs, _extra(whole, "prompt_token_ids"))
    return sum_nll(logprobs, int(prompt_only.usage.prompt_tokens), max_length)


def generate_item(client: Any, model: str, instruction: str, options: EvalOptions, api: Api) -> str:
    """The greedy response to one instruction (special tokens dropped, as offline)."""
    if api == "chat":
        chat = _call(
            f"POST /v1/chat/completions (model {model})",
            lambda: client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": instruction}],
                max_tokens=options.max_new_tokens,
                temperature=0.0,
                seed=options.seed,
            ),
        )
        return str(chat.choices[0].message.content or "")
    completion = _call(
        f"POST /v1/completions (model {model})",
        lambda: client.completions.create(
            model=model,
            prompt=format_prompt(instruction),
            max_tokens=options.max_new_tokens,
            temperature=0.0,
            seed=options.seed,
        ),
    )
    return str(completion.choices[0].text or "")


def _run_all(jobs: Sequence[Callable[[], Any]], concurrency: int, sink: ProgressSink) -> list[Any]:
    """Run the requests `concurrency` at a time, advancing the progress bar as each finishes."""
    results: list[Any] = [None] * len(jobs)
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(job): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                done += 1
                sink.advance(done)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return results


def evaluate_endpoint(
    records: Sequence[Record],
    endpoint: Endpoint,
    *,
    options: EvalOptions | None = None,
    output: Path | None = None,
    progress: ProgressSink | None = None,
    client: Any = None,
) -> EvaluationReport:
    """Evaluate the server behind `endpoint` on `records`: the offline suite's items and metrics."""
    opts = options or EvalOptions()
    sink = progress or NullProgress()
    items = select_items(records, opts.max_items, opts.seed)
    if not items:
        raise InvalidInput("there are no items to evaluate", reason="DatasetInvalid")
    sample_idx = pick_samples(len(items), opts.samples, seed=opts.seed)
    gen_idx = generation_indices(items, sample_idx)
    api = client or make_client(endpoint)
    model = resolve_model(api, endpoint.model)

    sink.phase("perplexity (endpoint)", total=len(items))
    scored = _run_all(
        [functools.partial(score_item, api, model, r, opts.max_length) for r in items],
        endpoint.concurrency,
        sink,
    )
    sums = NllSums()
    if all(s is not None for s in scored):
        for s in scored:
            sums.response_nll += s.response_nll
            sums.response_tokens += s.response_tokens
            sums.full_nll += s.full_nll
            sums.full_tokens += s.full_tokens

    sink.phase("generation (endpoint)", total=len(gen_idx))
    texts = _run_all(
        [
            functools.partial(generate_item, api, model, items[i]["instruction"], opts, endpoint.api)
            for i in gen_idx
        ],
        endpoint.concurrency,
        sink,
    )
    generations = dict(zip(gen_idx, texts, strict=True))
    pine = [generations[i] for i in gen_idx if items[i].get("task") in PINE_TASKS]
    syntax, parse_rate = pine_metrics(pine)
    computed = [i for i in gen_idx if is_computed(items[i])]
    acc = task_accuracy([items[i] for i in computed], [generations[i] for i in computed])
    metrics = EvalMetrics(
        perplexity=sums.perplexity,
        full_text_perplexity=sums.full_text_perplexity,
        pine_syntax_score=syntax,
        pine_parse_rate=parse_rate,
        task_accuracy=acc.overall,
        task_accuracy_by_task=acc.by_task,
    )
    rows = sample_rows(items, sample_idx, generations, None)
    samples_path = write_samples(rows, output) if output is not None and rows else None
    return EvaluationReport(
        metrics=metrics, base_metrics=None, items=len(items), samples_path=samples_path, sample_rows=rows
    )
