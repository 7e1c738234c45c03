"""Every CEL rule of the CRDs, evaluated with cel-python on objects that pass and that fail.

Each non-transition case is also fed to the pydantic models: the API server (CEL) and
`tradetune validate` (pydantic) must accept and reject the same objects.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.api.k8s_schema import Rule, cel_failures, cel_rules, openapi
from tradetune.api import parse_finetunejob, parse_modelserve
from tradetune.errors import SpecError

Obj = dict[str, Any]


def ftj(**spec: Any) -> Obj:
    base: Obj = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "FineTuneJob",
        "metadata": {"name": "job"},
        "spec": {"baseModel": {"name": "mistralai/Mistral-7B-v0.1"}, "dataset": {"generate": {}}},
    }
    base["spec"].update(spec)
    return base


def mserve(**spec: Any) -> Obj:
    base: Obj = {
        "apiVersion": "tradetune.dev/v1alpha1",
        "kind": "ModelServe",
        "metadata": {"name": "srv"},
        "spec": {"model": {"fromFineTuneJob": "job"}, "apiKeySecretRef": {"name": "key"}},
    }
    base["spec"].update(spec)
    return base


def keyless(**spec: Any) -> Obj:
    base = mserve(**spec)
    del base["spec"]["apiKeySecretRef"]
    return base


def bounds(**thresholds: Any) -> Obj:
    return {"thresholds": thresholds}


# A gate any promoting job must have (FineTuneJobSpec's closed-gate rule).
GATE = {"compareToBase": True}

# (id, object, failure message expected or None)
CASES: list[tuple[str, Obj, str | None]] = [
    ("base-name", ftj(), None),
    ("base-path", ftj(baseModel={"path": "models/base"}), None),
    ("base-both", ftj(baseModel={"name": "a/b", "path": "p"}), "set exactly one of name or path"),
    ("base-neither", ftj(baseModel={"revision": "main"}), "set exactly one of name or path"),
    ("token-with-name", ftj(baseModel={"name": "a/b", "tokenSecretRef": {"name": "hf"}}), None),
    (
        "token-with-path",
        ftj(baseModel={"path": "p", "tokenSecretRef": {"name": "hf"}}),
        "tokenSecretRef needs name",
    ),
    ("data-path", ftj(dataset={"path": "data/"}), None),
    ("data-both", ftj(dataset={"path": "d", "generate": {}}), "set exactly one of generate or path"),
    ("data-neither", ftj(dataset={}), "set exactly one of generate or path"),
    ("bound-ok", ftj(evaluation=bounds(perplexity={"min": 1, "max": 20})), None),
    ("bound-equal", ftj(evaluation=bounds(evalLoss={"min": 2.5, "max": 2.5})), None),
    ("bound-inverted", ftj(evaluation=bounds(taskAccuracy={"min": 0.9, "max": 0.5})), "min must be <= max"),
    ("bound-inverted-pine", ftj(evaluation=bounds(pineParseRate={"min": 1, "max": 0})), "min must be <= max"),
    (
        "bound-inverted-syntax",
        ftj(evaluation=bounds(pineSyntaxScore={"min": 1, "max": 0.2})),
        "min must be <= max",
    ),
    ("bound-inverted-loss", ftj(evaluation=bounds(evalLoss={"min": 3, "max": 2})), "min must be <= max"),
    ("bound-inverted-ppl", ftj(evaluation=bounds(perplexity={"min": 30, "max": 20})), "min must be <= max"),
    ("bound-empty", ftj(evaluation=bounds(perplexity={})), "set min, max or both"),
    ("bound-empty-acc", ftj(evaluation=bounds(taskAccuracy={})), "set min, max or both"),
    ("bound-empty-loss", ftj(evaluation=bounds(evalLoss={})), "set min, max or both"),
    ("bound-empty-pine", ftj(evaluation=bounds(pineParseRate={})), "set min, max or both"),
    ("bound-empty-syntax", ftj(evaluation=bounds(pineSyntaxScore={})), "set min, max or both"),
    ("bound-valid-ok", ftj(evaluation=bounds(pineValidRate={"min": 0.5, "max": 1})), None),
    (
        "bound-inverted-valid",
        ftj(evaluation=bounds(pineValidRate={"min": 1, "max": 0})),
        "min must be <= max",
    ),
    ("bound-empty-valid", ftj(evaluation=bounds(pineValidRate={})), "set min, max or both"),
    ("bound-min-only", ftj(evaluation=bounds(pineSyntaxScore={"min": 0.5})), None),
    ("early-multiple", ftj(training={"earlyStopping": {}, "evalSteps": 50, "saveSteps": 100}), None),
    (
        "early-not-multiple",
        ftj(training={"earlyStopping": {}, "evalSteps": 30, "saveSteps": 100}),
        "earlyStopping needs saveSteps to be a multiple of evalSteps",
    ),
    ("no-early-any-steps", ftj(training={"evalSteps": 30, "saveSteps": 100}), None),
    ("max-steps-set", ftj(training={"maxSteps": 5}), None),
    ("max-steps-zero", ftj(training={"maxSteps": 0}), "maxSteps must be -1 (train for epochs) or >= 1"),
    ("quant-qlora", ftj(quantization={"type": "fp4"}), None),
    ("quant-full", ftj(method="full", quantization={}), "quantization is only used by method qlora"),
    ("quant-lora", ftj(method="lora", quantization={}), "quantization is only used by method qlora"),
    ("promote-thresholds", ftj(promote={"modelServe": "m"}, evaluation=bounds(perplexity={"max": 9})), None),
    ("promote-base", ftj(promote={"modelServe": "m"}, evaluation={"compareToBase": True}), None),
    ("promote-no-gate", ftj(promote={"modelServe": "m"}), "promote needs a gate"),
    (
        "promote-base-off",
        ftj(promote={"modelServe": "m"}, evaluation={"compareToBase": False, "samples": 3}),
        "promote needs a gate",
    ),
    ("no-promote-no-gate", ftj(evaluation={"samples": 3}), None),
    (
        "template-volume-ok",
        ftj(
            promote={
                "modelServe": "m",
                "modelServeTemplate": {"volume": {"claimName": "pvc", "subPath": "m"}},
            },
            evaluation={"compareToBase": True},
        ),
        None,
    ),
    (
        "template-volume-abs",
        ftj(
            promote={
                "modelServe": "m",
                "modelServeTemplate": {"volume": {"claimName": "pvc", "subPath": "/m"}},
            },
            evaluation={"compareToBase": True},
        ),
        "subPath must be a relative path",
    ),
    ("output-subpath", ftj(output={"claimName": "pvc", "subPath": "runs/a"}), None),
    (
        "output-absolute",
        ftj(output={"claimName": "pvc", "subPath": "/etc"}),
        "subPath must be a relative path",
    ),
    (
        "cache-dotdot",
        ftj(cache={"claimName": "pvc", "subPath": "a/../../b"}),
        "subPath must be a relative path",
    ),
    ("cache-ok", ftj(cache={"claimName": "pvc"}), None),
    ("serve-job", mserve(), None),
    ("serve-path", mserve(model={"path": "models/m"}), None),
    (
        "serve-both",
        mserve(model={"path": "m", "fromFineTuneJob": "job"}),
        "set exactly one of fromFineTuneJob",
    ),
    ("serve-neither", mserve(model={}), "set exactly one of fromFineTuneJob"),
    (
        "serve-adapter-no-path",
        mserve(model={"fromFineTuneJob": "j", "adapterPath": "a"}),
        "adapterPath needs path",
    ),
    ("serve-adapter-mode-job", mserve(mode="adapter"), None),
    ("serve-adapter-mode-path", mserve(mode="adapter", model={"path": "b", "adapterPath": "a"}), None),
    (
        "serve-adapter-mode-no-adapter",
        mserve(mode="adapter", model={"path": "b"}),
        "mode adapter with model.path needs model.adapterPath",
    ),
    ("serve-volume-ok", mserve(volume={"claimName": "pvc", "subPath": "models"}), None),
    (
        "serve-volume-abs",
        mserve(volume={"claimName": "pvc", "subPath": "/x"}),
        "subPath must be a relative path",
    ),
    ("serve-without-key", keyless(), "set apiKeySecretRef to require an API key, or auth: none"),
    ("serve-auth-none", keyless(auth="none"), None),
    ("serve-none-with-key", mserve(auth="none"), "auth none takes no apiKeySecretRef"),
    ("serve-peer", mserve(network={"allowFrom": [{"podSelector": {"app": "bot"}}]}), None),
    ("serve-empty-peer", mserve(network={"allowFrom": [{}]}), "set namespaceSelector, podSelector or both"),
    (
        "promote-create-without-key",
        ftj(promote={"modelServe": "s", "create": True}, evaluation=GATE),
        "set apiKeySecretRef",
    ),
    (
        "promote-create-key",
        ftj(promote={"modelServe": "s", "create": True, "apiKeySecretRef": {"name": "k"}}, evaluation=GATE),
        None,
    ),
    (
        "promote-create-none",
        ftj(promote={"modelServe": "s", "create": True, "auth": "none"}, evaluation=GATE),
        None,
    ),
    ("promote-existing", ftj(promote={"modelServe": "s"}, evaluation=GATE), None),
    (
        "promote-none-with-key",
        ftj(promote={"modelServe": "s", "auth": "none", "apiKeySecretRef": {"name": "k"}}, evaluation=GATE),
        "auth none takes no apiKeySecretRef",
    ),
]

# (id, old object, new object, failure message expected or None)
TRANSITIONS: list[tuple[str, Obj, Obj, str | None]] = [
    ("same", ftj(), ftj(training={"learningRate": 1e-4}), None),
    ("base-changed", ftj(), ftj(baseModel={"name": "meta-llama/Llama-3-8B"}), "baseModel is immutable"),
    (
        "revision-changed",
        ftj(),
        ftj(baseModel={"name": "mistralai/Mistral-7B-v0.1", "revision": "v2"}),
        "baseModel is immutable",
    ),
    (
        "revision-defaulted",
        ftj(),
        ftj(baseModel={"name": "mistralai/Mistral-7B-v0.1", "revision": "main"}),
        None,
    ),
    ("dataset-changed", ftj(), ftj(dataset={"generate": {"seed": 7}}), "dataset is immutable"),
    ("dataset-defaulted", ftj(), ftj(dataset={"generate": {"seed": 42}}), None),
    ("method-changed", ftj(), ftj(method="lora"), "method is immutable"),
    ("method-defaulted", ftj(), ftj(method="qlora"), None),
]

RECORD: dict[Rule, set[bool]] = {}


def _pydantic_problems(obj: Obj) -> list[str]:
    parse: Callable[[Any], Any] = parse_finetunejob if obj["kind"] == "FineTuneJob" else parse_modelserve
    try:
        parse(copy.deepcopy(obj))
    except SpecError as exc:
        return [f"{path}: {msg}" for path, msg in exc.problems]
    return []


@pytest.mark.parametrize(("obj", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_rule_on_create(obj: Obj, expected: str | None) -> None:
    failures = cel_failures(obj, record=RECORD)
    problems = _pydantic_problems(obj)
    if expected is None:
        assert failures == []
        assert problems == []
    else:
        assert len(failures) == 1 and expected in failures[0], failures
        # pydantic names the same field and says the same thing
        assert len(problems) == 1, problems
        assert expected in problems[0]
        # the same place (pydantic may name the field inside the object the rule sits on)
        assert problems[0].split(":")[0].startswith(failures[0].split(":")[0])


@pytest.mark.parametrize(
    ("old", "new", "expected"), [(t[1], t[2], t[3]) for t in TRANSITIONS], ids=[t[0] for t in TRANSITIONS]
)
def test_transition_rule_on_update(old: Obj, new: Obj, expected: str | None) -> None:
    failures = cel_failures(new, old=old, record=RECORD)
    if expected is None:
        assert failures == []
    else:
        assert failures == [f"spec.{expected.split()[0]}: {expected}"]


def test_transition_rules_are_skipped_on_create() -> None:
    # no old object: immutability cannot fail, whatever the spec says
    assert cel_failures(ftj(method="full")) == []


def test_every_rule_was_seen_passing_and_failing() -> None:
    for case in CASES:
        cel_failures(case[1], record=RECORD)
    for _, old, new, _ in TRANSITIONS:
        cel_failures(new, old=old, record=RECORD)
    rules = set(cel_rules(openapi("FineTuneJob"))) | set(cel_rules(openapi("ModelServe")))
    assert rules, "the CRDs carry CEL rules"
    untested = {
        f"{'.'.join(r.path)}: {r.rule}": RECORD.get(r, set()) for r in rules if RECORD.get(r) != {True, False}
    }
    assert untested == {}, "each rule must be seen both passing and failing"


def test_immutable_fields_carry_transition_rules() -> None:
    spec = openapi("FineTuneJob")["properties"]["spec"]["properties"]
    for field in ("baseModel", "dataset", "method"):
        rules = spec[field]["x-kubernetes-validations"]
        assert {"rule": "self == oldSelf", "message": f"{field} is immutable"} in rules
