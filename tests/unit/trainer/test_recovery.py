"""The OOM recovery policy: the guide's troubleshooting list, walked in order."""

from __future__ import annotations

from tradetune.training import MemoryConfig, describe_recovery, next_recovery


def walk(start: MemoryConfig) -> list[MemoryConfig]:
    steps = [start]
    while (nxt := next_recovery(steps[-1])) is not None:
        steps.append(nxt)
    return steps


def test_full_walk_keeps_the_effective_batch_then_trades_memory_for_time() -> None:
    steps = walk(MemoryConfig(4, 4, gradient_checkpointing=False, max_length=512))
    assert [(s.per_device_batch_size, s.gradient_accumulation_steps) for s in steps[:3]] == [
        (4, 4),
        (2, 8),
        (1, 16),
    ]
    assert all(s.effective_batch_size == 16 for s in steps)
    assert not steps[2].gradient_checkpointing and steps[3].gradient_checkpointing
    assert [s.max_length for s in steps[3:]] == [512, 256, 128]
    assert len(steps) == 6  # nothing left after 128 tokens, batch 1 and checkpointing


def test_checkpointing_already_on_goes_straight_to_length() -> None:
    steps = walk(MemoryConfig(1, 8, gradient_checkpointing=True, max_length=300))
    assert [(s.max_length, s.per_device_batch_size) for s in steps] == [(300, 1), (150, 1), (128, 1)]


def test_odd_micro_batch_never_shrinks_the_effective_batch() -> None:
    nxt = next_recovery(MemoryConfig(3, 2, gradient_checkpointing=True, max_length=512))
    assert nxt is not None
    assert nxt.per_device_batch_size == 1 and nxt.effective_batch_size >= 6


def test_nothing_to_give() -> None:
    assert next_recovery(MemoryConfig(1, 1, gradient_checkpointing=True, max_length=128)) is None


def test_descriptions_name_the_spec_fields() -> None:
    a = MemoryConfig(4, 4, gradient_checkpointing=False, max_length=512)
    b = next_recovery(a)
    assert b is not None
    text = describe_recovery(a, b)
    assert "perDeviceBatchSize 4->2" in text and "gradientAccumulationSteps 4->8" in text
    c = MemoryConfig(1, 16, gradient_checkpointing=True, max_length=256)
    assert describe_recovery(MemoryConfig(1, 16, False, 512), c) == (
        "out of memory: gradientCheckpointing on, maxSeqLength 512->256"
    )
