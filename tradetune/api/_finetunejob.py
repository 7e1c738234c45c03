"""FineTuneJob: one fine-tuning run, from base model and data to an evaluated, gated model.

Defaults follow the fine-tuning guide (QLoRA r=16/alpha=32 on q/k/v/o, nf4 with double
quantisation, 3 epochs at 2e-4, cosine schedule). Cross-field rules are `Rule`s (see
`_rules`): one message, its CEL for the API server beside its Python reading for pydantic.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator
from pydantic.config import JsonDict

from tradetune.api._common import (
    API_VERSION,
    DATE_TIME,
    Condition,
    ObjectMeta,
    ObjectModel,
    ResourcesSpec,
    SecretKeyRef,
    SpecModel,
    StatusModel,
    VolumeRef,
)
from tradetune.api._gate import GATED_METRICS, GateResult, Thresholds
from tradetune.api._progress import ProgressStatus
from tradetune.api._promote import PromoteSpec
from tradetune.api._result import Artifacts, EvalMetrics
from tradetune.api._rules import Rule, cel_only, exactly_one, needs, promote_needs_a_gate

TASK_IDS = (
    "pine_strategy",
    "pine_indicator",
    "pine_repair",
    "candlestick_knowledge",
    "pattern_recognition",
    "candle_reading",
    "indicator_math",
    "position_sizing",
    "backtest_stats",
    "market_structure",
    "strategy_explanation",
)
TaskId = Literal[
    "pine_strategy",
    "pine_indicator",
    "pine_repair",
    "candlestick_knowledge",
    "pattern_recognition",
    "candle_reading",
    "indicator_math",
    "position_sizing",
    "backtest_stats",
    "market_structure",
    "strategy_explanation",
]
Method = Literal["qlora", "lora", "full"]
Phase = Literal["Pending", "Running", "Evaluating", "Succeeded", "Failed", "Suspended"]
PHASES: tuple[Phase, ...] = ("Pending", "Running", "Evaluating", "Succeeded", "Failed", "Suspended")
# Condition types of a FineTuneJob, in the order they usually become True; `Stalled` (kstatus)
# is True only while the trainer pod waits on something outside the job, e.g. ImagePullBackOff
# or a missing Secret, and is set back to False as soon as that cause is gone.
CONDITION_TYPES = (
    "Ready",
    "Trained",
    "Evaluated",
    "GatePassed",
    "Promoted",
    "Succeeded",
    "Failed",
    "Stalled",
)


def _immutable(field: str) -> JsonDict:
    return cel_only(("self == oldSelf", f"{field} is immutable"))


def _unique(values: list[str] | None) -> list[str] | None:
    """Set-typed lists (x-kubernetes-list-type: set): the API server rejects duplicates."""
    if values is not None:
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ValueError(f"duplicate item {seen[0]!r}")
    return values


class BaseModelSpec(SpecModel):
    """The model to fine-tune: a hub id (downloaded into the cache) or a directory on a volume."""

    rules = (exactly_one("name", "path"), needs("tokenSecretRef", "name"))

    name: str | None = Field(
        None, description="Hugging Face hub id, e.g. mistralai/Mistral-7B-v0.1.", min_length=1, max_length=256
    )
    revision: str = Field(
        "main", description="Hub revision (branch, tag or commit) of name.", min_length=1, max_length=256
    )
    token_secret_ref: SecretKeyRef | None = Field(
        None,
        description=(
            "Secret holding the hub token (passed to the trainer as HF_TOKEN); never put a token in the spec."
        ),
    )
    path: str | None = Field(
        None,
        description=(
            "Directory of the model (config, weights, tokenizer), for air-gapped clusters. On a cluster a "
            "relative path is inside the cache volume (mounted at /cache) and an absolute one is used as "
            "is; `tradetune run` reads it relative to the working directory."
        ),
        min_length=1,
        max_length=1024,
    )


class GenerateSpec(SpecModel):
    """Generate the dataset in the pod from a seed: the spec alone reproduces the data."""

    train: int = Field(10000, description="Records in the training split.", ge=1, le=10_000_000)
    validation: int = Field(1000, description="Records in the validation split.", ge=1, le=1_000_000)
    test: int = Field(1000, description="Records in the test split.", ge=1, le=1_000_000)
    seed: int = Field(42, description="Seed of the generator; same seed, same data.", ge=0, le=2**31 - 1)
    tasks: list[TaskId] | None = Field(
        None,
        description=(
            "Task families to generate (pine_strategy, pine_indicator, pine_repair, candlestick_knowledge, "
            "pattern_recognition, candle_reading, indicator_math, position_sizing, backtest_stats, "
            "market_structure, strategy_explanation); all of them when unset."
        ),
        min_length=1,
        max_length=len(TASK_IDS),
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )

    @field_validator("tasks")
    @classmethod
    def _distinct_tasks(cls, value: list[str] | None) -> list[str] | None:
        return _unique(value)


class DatasetSpec(SpecModel):
    """Where the training data comes from."""

    rules = (exactly_one("generate", "path"),)

    generate: GenerateSpec | None = Field(None, description="Generate the splits from a seed inside the pod.")
    path: str | None = Field(
        None,
        description=(
            "Directory with train.jsonl, val.jsonl and test.jsonl: one record per line, as "
            "instruction/response, OpenAI chat messages or AutoTrain text (see the dataset contract); "
            "relative paths resolve like baseModel.path."
        ),
        min_length=1,
        max_length=1024,
    )


class LoraSpec(SpecModel):
    """LoRA adapter shape (used by methods qlora and lora)."""

    r: int = Field(
        16,
        description="Rank of the adapter matrices: capacity of the adapter (8-64 is typical).",
        ge=1,
        le=1024,
    )
    alpha: int = Field(32, description="Scaling numerator (the update is scaled by alpha/r).", ge=1, le=4096)
    dropout: float = Field(0.05, description="Dropout on the adapter input.", ge=0, lt=1)
    target_modules: list[Annotated[str, StringConstraints(min_length=1, max_length=128)]] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        description='Module names that get adapters (or ["all-linear"]).',
        min_length=1,
        max_length=64,
        json_schema_extra={"x-kubernetes-list-type": "set"},
    )

    @field_validator("target_modules")
    @classmethod
    def _distinct_modules(cls, value: list[str]) -> list[str]:
        return _unique(value) or value


class QuantizationSpec(SpecModel):
    """4-bit quantisation of the frozen base model (method qlora)."""

    type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type.")
    double_quant: bool = Field(
        True, description="Quantise the quantisation constants too (saves ~0.4 bit/param)."
    )
    compute_dtype: Literal["bfloat16", "float16", "float32"] = Field(
        "bfloat16",
        description="Dtype of the matmuls on dequantised weights (the trainer uses float32 on CPU).",
    )


class EarlyStoppingSpec(SpecModel):
    """Stop when the validation loss stops improving; the best checkpoint is kept."""

    patience: int = Field(3, description="Evaluations without improvement before stopping.", ge=1, le=1000)
    threshold: float = Field(0.0, description="Smallest decrease of the validation loss that counts.", ge=0)


class TrainingSpec(SpecModel):
    """Supervised fine-tuning hyper-parameters."""

    rules = (
        Rule(
            "self.maxSteps != 0", "maxSteps must be -1 (train for epochs) or >= 1", lambda m: m.max_steps != 0
        ),
        Rule(
            "!has(self.earlyStopping) || self.saveSteps % self.evalSteps == 0",
            "earlyStopping needs saveSteps to be a multiple of evalSteps",
            lambda m: m.early_stopping is None or m.save_steps % m.eval_steps == 0,
        ),
    )

    epochs: float = Field(
        3, description="Passes over the training split (ignored when maxSteps > 0).", gt=0, le=1000
    )
    max_steps: int = Field(
        -1, description="Optimizer steps to run; -1 trains for epochs instead, 0 is not allowed.", ge=-1
    )
    learning_rate: float = Field(
        2e-4,
        description=(
            "Peak learning rate of the AdamW optimizer, reached after warmupSteps and then decayed by "
            "scheduler. 2e-4 suits LoRA/QLoRA; full fine-tuning wants about 1e-5."
        ),
        gt=0,
        le=1,
    )
    per_device_batch_size: int = Field(
        4,
        description=(
            "Examples per device per step. Lower it when the GPU runs out of memory and raise "
            "gradientAccumulationSteps to keep the effective batch."
        ),
        ge=1,
        le=4096,
    )
    gradient_accumulation_steps: int = Field(
        4,
        description="Steps whose gradients are summed before an update (effective batch = batch x this).",
        ge=1,
        le=4096,
    )
    max_seq_length: int = Field(
        512,
        description=(
            "Tokens per example (prompt and response); longer examples are truncated. Memory grows "
            "with it; the generated trading data fits in 512."
        ),
        ge=16,
        le=131072,
    )
    warmup_steps: int = Field(100, description="Steps of linear learning-rate warm-up.", ge=0)
    scheduler: Literal["cosine", "linear"] = Field(
        "cosine", description="Learning-rate schedule after warm-up."
    )
    precision: Literal["bf16", "fp16", "fp32"] = Field(
        "bf16", description="Mixed precision of training (the trainer uses fp32 on CPU)."
    )
    gradient_checkpointing: bool = Field(True, description="Recompute activations to save memory (slower).")
    packing: bool = Field(
        False,
        description=(
            "Pack several short examples into one sequence of maxSeqLength tokens (faster on short "
            "data; the loss still covers only the responses)."
        ),
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Stop early on a validation-loss plateau."
    )
    eval_steps: int = Field(100, description="Evaluate on the validation split every this many steps.", ge=1)
    save_steps: int = Field(100, description="Save a checkpoint every this many steps.", ge=1)
    save_total_limit: int = Field(3, description="Checkpoints kept on disk.", ge=1, le=100)
    logging_steps: int = Field(10, description="Log the loss every this many steps.", ge=1)
    seed: int = Field(42, description="Seed of training (data order, adapter init).", ge=0, le=2**31 - 1)


class EvaluationSpec(SpecModel):
    """How the tuned model is evaluated and what it must reach to be promoted."""

    thresholds: Thresholds = Field(
        default_factory=Thresholds,
        description=(
            "Bounds the tuned model's metrics must meet to be promoted (inclusive). A metric with a "
            "bound that was not measured fails the gate. A job with promote must set at least one "
            "bound or compareToBase: true (the gate is closed by default)."
        ),
    )
    compare_to_base: bool = Field(
        False,
        description=(
            "Also evaluate the base model and compare: perplexity must be strictly lower than the "
            "base's (both must be measured); evalLoss must not be higher; taskAccuracy, "
            "pineSyntaxScore and pineParseRate must not be lower, each compared only when both models "
            "measured it. A score of 0 for both models proves nothing and is not compared (the gate "
            "notes it). Each comparison is one check in the gate's verdicts."
        ),
    )
    samples: int = Field(
        100, description="Generations kept for human review (samples.jsonl/csv).", ge=0, le=100000
    )
    max_items: int | None = Field(
        None, description="Evaluate at most this many test records (all when unset).", ge=1
    )
    max_new_tokens: int = Field(256, description="Token limit of each generation.", ge=1, le=32768)


class FineTuneJobSpec(SpecModel):
    """Desired state of a FineTuneJob."""

    rules = (
        Rule(
            "self.method == 'qlora' || !has(self.quantization)",
            "quantization is only used by method qlora",
            lambda m: m.method == "qlora" or m.quantization is None,
        ),
        promote_needs_a_gate(GATED_METRICS),
    )

    base_model: BaseModelSpec = Field(
        description="The model to fine-tune (immutable).", json_schema_extra=_immutable("baseModel")
    )
    dataset: DatasetSpec = Field(
        description="The training data (immutable).", json_schema_extra=_immutable("dataset")
    )
    method: Method = Field(
        "qlora",
        description=(
            "qlora: LoRA on a 4-bit base; lora: LoRA on a 16-bit base; full: every weight (immutable)."
        ),
        json_schema_extra=_immutable("method"),
    )
    lora: LoraSpec = Field(default_factory=LoraSpec, description="Adapter shape for qlora and lora.")
    quantization: QuantizationSpec | None = Field(
        None, description="4-bit quantisation settings (qlora; defaults apply when unset)."
    )
    training: TrainingSpec = Field(default_factory=TrainingSpec, description="Training hyper-parameters.")
    evaluation: EvaluationSpec = Field(
        default_factory=EvaluationSpec, description="Evaluation and promotion gate."
    )
    promote: PromoteSpec | None = Field(None, description="Serve the model when the gate passes.")
    resources: ResourcesSpec = Field(
        default_factory=ResourcesSpec, description="Resources of the trainer pod."
    )
    output: VolumeRef | None = Field(
        None, description="Volume the artifacts are written to (adapter/, merged/, metrics.json)."
    )
    cache: VolumeRef | None = Field(
        None, description="Volume for model downloads (HF_HOME); mounted at /cache."
    )
    image: str | None = Field(
        None, description="Trainer image (the operator's default when unset).", min_length=1, max_length=512
    )
    backoff_limit: int = Field(
        2,
        description=(
            "Retries of the trainer pod before the FineTuneJob fails (an out-of-memory retry with a "
            "smaller batch counts too)."
        ),
        ge=0,
        le=20,
    )
    active_deadline_seconds: int | None = Field(
        None, description="Wall-clock limit of the trainer Job in seconds.", ge=1
    )
    suspend: bool = Field(
        False,
        description=(
            "Pause the job: no trainer pod runs while true (a running one is stopped and restarts "
            "from its last checkpoint when resumed)."
        ),
    )

    @property
    def effective_quantization(self) -> QuantizationSpec | None:
        """The quantisation the trainer applies: the spec's or the defaults for qlora; None otherwise."""
        if self.method != "qlora":
            return None
        return self.quantization or QuantizationSpec()


class CreatedModelServe(StatusModel):
    """The ModelServe this job created: it is created once, never again behind a user's delete."""

    name: str = Field(description="Name of the ModelServe.")
    promote_digest: str = Field(
        description="Digest of spec.promote when it was created; a change of spec.promote allows a new one."
    )


class FineTuneJobStatus(StatusModel):
    """Observed state of a FineTuneJob, written by the operator (or `tradetune run`)."""

    phase: Phase | None = Field(
        None,
        description=(
            "Summary of where the job is: Pending, Running, Evaluating, Succeeded, Failed or Suspended."
        ),
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, Trained, Evaluated, GatePassed, Promoted, Succeeded and Failed.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    observed_generation: int | None = Field(None, description="metadata.generation this status describes.")
    metrics: EvalMetrics | None = Field(None, description="Metrics of the tuned model.")
    base_metrics: EvalMetrics | None = Field(None, description="Metrics of the base model (compareToBase).")
    gate: GateResult | None = Field(None, description="Verdicts of the promotion gate.")
    verification: GateResult | None = Field(
        None,
        description=(
            "Verdicts of the live verification (`tradetune run`: the served model against these metrics)."
        ),
    )
    artifacts: Artifacts | None = Field(None, description="Where the outputs were written.")
    timings: dict[str, float] | None = Field(
        None, description="Seconds the trainer spent per phase (e.g. data, train, merge, evaluate, total)."
    )
    created_model_serve: CreatedModelServe | None = Field(
        None, description="The ModelServe spec.promote.create made (kept after it is deleted)."
    )
    job_name: str | None = Field(None, description="Name of the trainer Job.")
    attempts: int = Field(0, description="Trainer pod runs so far.", ge=0)
    start_time: str | None = Field(
        None, description="When training started (RFC 3339).", json_schema_extra=DATE_TIME
    )
    completion_time: str | None = Field(
        None, description="When the job finished (RFC 3339).", json_schema_extra=DATE_TIME
    )
    message: str | None = Field(None, description="Human-readable state of the job.")
    progress: ProgressStatus | None = Field(
        None, description="Live progress of the trainer pod: stage, step, losses, throughput and ETA."
    )


class FineTuneJob(ObjectModel):
    """Fine-tune a base model on trading data, evaluate it, gate it on thresholds and promote it."""

    api_version: Literal["tradetune.dev/v1alpha1"] = Field(API_VERSION, description="tradetune.dev/v1alpha1")
    kind: Literal["FineTuneJob"] = Field("FineTuneJob", description="FineTuneJob")
    metadata: ObjectMeta = Field(default_factory=ObjectMeta, description="Standard object metadata.")
    spec: FineTuneJobSpec = Field(description="Desired state: model, data, method, training, evaluation.")
    status: FineTuneJobStatus | None = Field(None, description="Observed state, written by the operator.")
