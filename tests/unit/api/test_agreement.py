"""Property-based: the CRD (schema + CEL, as the API server applies them) and the pydantic models
accept and reject the same FineTuneJobs and ModelServes.

One known, documented difference is left out: resource quantities (cpu, memory) are checked
against the Quantity grammar by the models only (the CRD marks them int-or-string, as
Kubernetes' own types do).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.k8s_schema import cel_failures, schema_errors
from tradetune.api import parse_finetunejob, parse_modelserve
from tradetune.errors import SpecError

FTJ: dict[str, Any] = yaml.safe_load(
    """
apiVersion: tradetune.dev/v1alpha1
kind: FineTuneJob
metadata: {name: job}
spec:
  baseModel: {name: a/b, revision: main, tokenSecretRef: {name: hf, key: token}}
  dataset: {generate: {train: 100, validation: 10, test: 10, seed: 1, tasks: [pine_strategy, indicator_math]}}
  method: qlora
  lora: {r: 8, alpha: 16, dropout: 0.1, targetModules: [q_proj, v_proj]}
  quantization: {type: nf4, doubleQuant: true, computeDtype: bfloat16}
  training:
    epochs: 1
    maxSteps: 10
    learningRate: 0.001
    perDeviceBatchSize: 2
    gradientAccumulationSteps: 2
    maxSeqLength: 128
    warmupSteps: 5
    scheduler: linear
    precision: fp32
    gradientCheckpointing: false
    packing: true
    earlyStopping: {patience: 2, threshold: 0.01}
    evalSteps: 5
    saveSteps: 10
    saveTotalLimit: 2
    loggingSteps: 1
    seed: 3
  evaluation:
    thresholds: {perplexity: {max: 20}, taskAccuracy: {min: 0.1, max: 1}, evalLoss: {max: 3}}
    compareToBase: true
    samples: 5
    maxItems: 50
    maxNewTokens: 64
  promote: {modelServe: srv, create: true, apiKeySecretRef: {name: key}}
  resources:
    profile: small
    gpus: 1
    gpuResourceName: nvidia.com/gpu
    nodeSelector: {pool: gpu}
    tolerations: [{key: a, operator: Exists}]
    affinity: {nodeAffinity: {}}
    priorityClassName: high
  output: {claimName: out, subPath: runs}
  cache: {claimName: cache}
  image: registry.example/trainer:1
  backoffLimit: 1
  activeDeadlineSeconds: 3600
  suspend: false
"""
)
MSERVE: dict[str, Any] = yaml.safe_load(
    """
apiVersion: tradetune.dev/v1alpha1
kind: ModelServe
metadata: {name: srv}
spec:
  model: {path: models/base, adapterPath: adapters/a}
  mode: adapter
  servedModelName: trading
  replicas: 2
  engine: {image: vllm:1, maxModelLen: 2048, gpuMemoryUtilization: 0.8, tensorParallelSize: 1, dtype: auto,
           extraArgs: [--enforce-eager]}
  resources: {gpus: 1}
  auth: apiKey
  apiKeySecretRef: {name: key}
  publicMetrics: false
  maxRequestBytes: 65536
  network: {allowFrom: [{namespaceSelector: {team: a}, podSelector: {app: c}}]}
  volume: {claimName: models, subPath: m}
"""
)
SKIP = {("spec", "resources", "cpu"), ("spec", "resources", "memory")}
DELETE = object()


def _paths(node: Any, prefix: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            out += _paths(child, (*prefix, index))
    return out


PATHS = [("ftj", p) for p in _paths(FTJ["spec"], ("spec",))] + [
    ("ms", p) for p in _paths(MSERVE["spec"], ("spec",))
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=5),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda f: not float(f).is_integer()),
    st.sampled_from(
        ["", "a", "qlora", "full", "lora", "adapter", "/abs", "a/../b", "UPPER", "x" * 300, "16Gi"]
    ),
    st.text(max_size=8),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.sampled_from(["name", "path", "min", "max", "key", "x"]), scalars, max_size=2),
)


def _models_accept(obj: dict[str, Any]) -> bool:
    try:
        (parse_finetunejob if obj["kind"] == "FineTuneJob" else parse_modelserve)(copy.deepcopy(obj))
    except SpecError:
        return False
    return True


def _server_accepts(obj: dict[str, Any]) -> bool:
    return not schema_errors(obj) and not cel_failures(obj)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(PATHS), value=values, delete=st.booleans())
def test_models_and_crd_agree(target: tuple[str, tuple[Any, ...]], value: Any, delete: bool) -> None:
    which, path = target
    if path in SKIP:
        return
    obj = copy.deepcopy(FTJ if which == "ftj" else MSERVE)
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    if isinstance(value, float):
        assert math.isfinite(value)
    models, server = _models_accept(obj), _server_accepts(obj)
    assert models == server, (path, value, schema_errors(obj), cel_failures(obj))


# Values at the edges of the usual bounds, tried on every path: random search can miss one
# integer (maxSteps 0 was accepted by the CRD and refused by the models until this sweep).
EDGES: list[Any] = [None, 0, -1, 1, 2**31, 0.5, "", "a", [], {}]


SWEPT = [(w, p) for w, p in PATHS if p not in SKIP]


@pytest.mark.parametrize("target", SWEPT, ids=[f"{w}:{'.'.join(map(str, p))}" for w, p in SWEPT])
def test_models_and_crd_agree_on_edge_values(target: tuple[str, tuple[Any, ...]]) -> None:
    which, path = target
    disagreements = []
    for value in [*EDGES, DELETE]:
        obj = copy.deepcopy(FTJ if which == "ftj" else MSERVE)
        parent = obj
        for part in path[:-1]:
            parent = parent[part]
        if value is DELETE:
            if not isinstance(parent, dict):
                continue
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        if _models_accept(obj) != _server_accepts(obj):
            disagreements.append((value, _models_accept(obj), schema_errors(obj), cel_failures(obj)))
    assert disagreements == []


def test_the_bases_are_valid_for_both() -> None:
    for obj in (FTJ, MSERVE):
        assert _models_accept(obj) and _server_accepts(obj)
