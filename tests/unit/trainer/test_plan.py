"""Spec + device facts -> trainer settings: precision, quantisation, TRL 1.16 argument names."""

from __future__ import annotations

from pathlib import Path

from tradetune.api import FineTuneJobSpec
from tradetune.training import initial_memory, resolve_precision, sft_config_kwargs
from tradetune.training.plan import (
    lora_kwargs,
    model_init_kwargs,
    packs_bins_as_rows,
    quantization_kwargs,
)


def spec(**over: object) -> FineTuneJobSpec:
    data: dict[str, object] = {"baseModel": {"path": "/models/base"}, "dataset": {"generate": {}}}
    data.update(over)
    return FineTuneJobSpec.model_validate(data)


def test_cpu_is_fp32_whatever_the_spec_says() -> None:
    p = resolve_precision(spec(training={"precision": "bf16"}), cuda=False, bf16_supported=False)
    assert (p.device, p.load_dtype, p.compute_dtype, p.bf16, p.fp16) == (
        "cpu",
        "float32",
        "float32",
        False,
        False,
    )


def test_cuda_uses_the_spec_precision_and_falls_back_to_fp16_without_bf16() -> None:
    s = spec()
    assert resolve_precision(s, cuda=True, bf16_supported=True).bf16
    old = resolve_precision(s, cuda=True, bf16_supported=False)
    assert (old.fp16, old.bf16, old.load_dtype, old.compute_dtype) == (True, False, "float16", "float16")
    fp32 = resolve_precision(spec(training={"precision": "fp32"}), cuda=True, bf16_supported=True)
    assert not fp32.bf16 and not fp32.fp16 and fp32.load_dtype == "float32"


def test_qlora_defaults_are_the_guides() -> None:
    s = spec()
    cpu = resolve_precision(s, cuda=False, bf16_supported=False)
    q = quantization_kwargs(s, cpu)
    assert q == {
        "load_in_4bit": True,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_use_double_quant": True,
        "bnb_4bit_compute_dtype": "float32",
        "bnb_4bit_quant_storage": "uint8",
    }
    gpu = resolve_precision(s, cuda=True, bf16_supported=True)
    assert quantization_kwargs(s, gpu)["bnb_4bit_compute_dtype"] == "bfloat16"  # type: ignore[index]
    lora = lora_kwargs(s)
    assert lora is not None
    assert (lora["r"], lora["lora_alpha"], lora["lora_dropout"]) == (16, 32, 0.05)
    assert lora["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert quantization_kwargs(spec(method="lora"), cpu) is None
    assert lora_kwargs(spec(method="full")) is None


def test_sft_config_uses_trl_1_16_names_and_cpu_settings(tmp_path: Path) -> None:
    s = spec(training={"packing": True, "earlyStopping": {"patience": 2}, "evalSteps": 50, "saveSteps": 100})
    p = resolve_precision(s, cuda=False, bf16_supported=False)
    kw = sft_config_kwargs(s, initial_memory(s), p, tmp_path, init_kwargs=model_init_kwargs(s, p, None))
    assert kw["max_length"] == 512 and "max_seq_length" not in kw
    assert kw["eval_strategy"] == "steps" and "evaluation_strategy" not in kw
    assert kw["use_cpu"] is True and kw["bf16"] is False and kw["fp16"] is False
    assert kw["gradient_checkpointing"] is True  # the spec default, set explicitly
    assert kw["packing"] is True and kw["packing_strategy"] == "bfd"
    assert kw["completion_only_loss"] is True
    assert kw["load_best_model_at_end"] is True and kw["metric_for_best_model"] == "eval_loss"
    assert kw["model_init_kwargs"] == {"dtype": "float32", "device_map": "cpu"}
    assert (kw["learning_rate"], kw["warmup_steps"], kw["lr_scheduler_type"]) == (2e-4, 100, "cosine")
    # the spec's batch as it is: on CPU each of the 4 packed bins is a row (packs_bins_as_rows)
    assert (kw["per_device_train_batch_size"], kw["gradient_accumulation_steps"]) == (4, 4)
    assert packs_bins_as_rows(s, p) is True
    assert packs_bins_as_rows(spec(), p) is False  # not packed
    plain = sft_config_kwargs(spec(), initial_memory(spec()), p, tmp_path, init_kwargs={})
    assert plain["load_best_model_at_end"] is False and "packing_strategy" not in plain
    assert (plain["per_device_train_batch_size"], plain["gradient_accumulation_steps"]) == (4, 4)
    gpu = resolve_precision(s, cuda=True, bf16_supported=True)
    packed_gpu = sft_config_kwargs(s, initial_memory(s), gpu, tmp_path, init_kwargs={})
    assert (packed_gpu["per_device_train_batch_size"], packed_gpu["gradient_accumulation_steps"]) == (4, 4)
    assert packs_bins_as_rows(s, gpu) is False  # TRL's flattened row for FlashAttention's varlen kernels


def test_hub_models_get_revision_and_token_only_when_named() -> None:
    hub = spec(baseModel={"name": "org/model", "revision": "v1"})
    p = resolve_precision(hub, cuda=True, bf16_supported=True)
    kw = model_init_kwargs(hub, p, "secret-token")
    assert kw == {"dtype": "bfloat16", "device_map": {"": 0}, "revision": "v1", "token": "secret-token"}
    assert "token" not in model_init_kwargs(spec(), p, "secret-token")
