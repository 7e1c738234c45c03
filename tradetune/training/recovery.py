"""What to change after an out-of-memory error: the guide's troubleshooting list, as a policy.

The guide tells the user to "reduce batch size, enable gradient checkpointing, reduce sequence
length" by hand after a crash. Here it is a pure function from the memory-relevant settings to
the next, smaller ones, so the retry loop can walk down the list alone and record each step.
The effective batch (micro-batch × accumulation) is kept, so the optimisation is unchanged
until the last resort (a shorter maximum length) which does change what the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MIN_MAX_LENGTH = 128


@dataclass(frozen=True)
class MemoryConfig:
    """The training settings that decide peak memory."""

    per_device_batch_size: int
    gradient_accumulation_steps: int
    gradient_checkpointing: bool
    max_length: int

    @property
    def effective_batch_size(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps


def next_recovery(config: MemoryConfig) -> MemoryConfig | None:
    """The next configuration to try after an OOM, or None when nothing is left to give.

    Order: halve the micro-batch and double the accumulation (down to a micro-batch of 1),
    then turn gradient checkpointing on, then halve the maximum length (not below 128).
    """
    if config.per_device_batch_size > 1:
        batch = config.per_device_batch_size // 2
        # ceil keeps the effective batch at least as large when the micro-batch was odd
        accumulation = -(-config.effective_batch_size // batch)
        return replace(config, per_device_batch_size=batch, gradient_accumulation_steps=accumulation)
    if not config.gradient_checkpointing:
        return replace(config, gradient_checkpointing=True)
    if config.max_length > MIN_MAX_LENGTH:
        return replace(config, max_length=max(MIN_MAX_LENGTH, config.max_length // 2))
    return None


def describe_recovery(before: MemoryConfig, after: MemoryConfig) -> str:
    """One line for TrainResult.oom_recoveries saying what changed."""
    changes = []
    if before.per_device_batch_size != after.per_device_batch_size:
        changes.append(
            f"perDeviceBatchSize {before.per_device_batch_size}->{after.per_device_batch_size}, "
            f"gradientAccumulationSteps {before.gradient_accumulation_steps}->"
            f"{after.gradient_accumulation_steps}"
        )
    if before.gradient_checkpointing != after.gradient_checkpointing:
        changes.append("gradientCheckpointing on")
    if before.max_length != after.max_length:
        changes.append(f"maxSeqLength {before.max_length}->{after.max_length}")
    return "out of memory: " + ", ".join(changes)
