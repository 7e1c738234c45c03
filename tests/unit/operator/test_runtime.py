"""The per-object runner: one reconcile at a time, bursts coalesced, failures retried."""

from __future__ import annotations

import asyncio

import pytest

from tradetune.operator import runtime
from tradetune.operator.metrics import OperatorMetrics


async def test_runs_never_overlap_and_bursts_coalesce() -> None:
    running = 0
    overlaps = 0
    calls = 0

    async def reconcile(namespace: str, name: str) -> None:
        nonlocal running, overlaps, calls
        running += 1
        calls += 1
        overlaps = max(overlaps, running)
        await asyncio.sleep(0.02)
        running -= 1

    runner = runtime.KeyedRunner("FineTuneJob", reconcile, OperatorMetrics())
    await asyncio.gather(*(runner.run("ns", "a") for _ in range(10)))
    assert overlaps == 1
    assert calls == 2  # the first run, then exactly one for everything that arrived meanwhile
    await asyncio.gather(runner.run("ns", "a"), runner.run("ns", "b"))
    assert overlaps == 2  # different objects do run side by side


async def test_background_failures_are_counted_and_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "RETRY_DELAYS", (0.01, 0.01))
    attempts = 0
    done = asyncio.Event()

    async def reconcile(namespace: str, name: str) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("API server unavailable")
        done.set()

    metrics = OperatorMetrics()
    runner = runtime.KeyedRunner("ModelServe", reconcile, metrics)
    runner.trigger("ns", "m")
    await asyncio.wait_for(done.wait(), 5)
    assert attempts == 3
    assert (
        metrics.registry.get_sample_value("tradetune_reconcile_errors_total", {"kind": "ModelServe"}) == 2.0
    )
    await runner.close()


async def test_a_cancelled_queued_run_leaves_its_joiners_to_run() -> None:
    gate = asyncio.Event()
    calls = 0

    async def reconcile(namespace: str, name: str) -> None:
        nonlocal calls
        calls += 1
        await gate.wait()

    runner = runtime.KeyedRunner("FineTuneJob", reconcile, OperatorMetrics())
    first = asyncio.create_task(runner.run("ns", "a"))
    await asyncio.sleep(0)
    queued = asyncio.create_task(runner.run("ns", "a"))
    await asyncio.sleep(0)
    joiner = asyncio.create_task(runner.run("ns", "a"))
    await asyncio.sleep(0)
    queued.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    await first
    await joiner  # ran itself instead of inheriting the cancellation
    assert calls == 2
