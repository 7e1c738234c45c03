"""The rollout's children validate strictly and keep the contracts: restricted pod, secret by reference."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from tests.unit.operator.fixtures import NS, SETTINGS, ftj_body
from tradetune.api import FineTuneJobStatus, parse_finetunejob, parse_modelserve
from tradetune.operator import builders
from tradetune.operator.builders.verify import (
    API_KEY_ENV,
    REVISION_LABEL,
    TEST_SPLIT,
    candidate_service,
    revision_deployment_name,
    revision_selector,
    verification_job,
)
from tradetune.operator.rollout import revision_slug, verify_job_name

REV = "ftj-uid/4"


def _mserve(**spec: Any) -> Any:
    return parse_modelserve(
        {
            "apiVersion": "tradetune.dev/v1alpha1",
            "kind": "ModelServe",
            "metadata": {"name": "pine-llm", "namespace": NS, "uid": "ms-uid", "generation": 3},
            "spec": {"model": {"fromFineTuneJob": "pine"}, **spec},
        }
    )


def _model(mserve: Any) -> Any:
    body = ftj_body(output={"claimName": "runs", "subPath": "pine"})
    body["metadata"] = {k: body["metadata"][k] for k in ("name", "namespace", "uid", "generation")}
    ftj = parse_finetunejob(body)
    status = FineTuneJobStatus.model_validate({"phase": "Succeeded", "artifacts": {"merged": "merged"}})
    return builders.resolve_model(mserve, ftj.model_copy(update={"status": status}))


def _valid(manifest: dict[str, Any]) -> None:
    for version in ("1.30.0", "1.37.0"):
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_verification_job_evaluates_the_endpoint_on_the_jobs_test_split() -> None:
    mserve = _mserve(apiKeySecretRef={"name": "llm-key", "key": "token"}, rollout={"samples": 32})
    url = "http://pine-llm-vllm-candidate.ml.svc:8000"
    job = verification_job(mserve, _model(mserve), REV, "verify", url, SETTINGS)
    _valid(job)
    assert job["metadata"]["name"] == verify_job_name("pine-llm", REV, "verify")
    assert job["metadata"]["ownerReferences"][0]["uid"] == "ms-uid"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    cmd = container["command"]
    assert cmd[:4] == ["tradetune", "evaluate", "--endpoint", url]
    assert cmd[cmd.index("--data") + 1] == TEST_SPLIT and cmd[cmd.index("--max-items") + 1] == "32"
    assert cmd[cmd.index("--api-key-env") + 1] == API_KEY_ENV
    key_env = next(e for e in container["env"] if e["name"] == API_KEY_ENV)
    assert key_env["valueFrom"] == {"secretKeyRef": {"name": "llm-key", "key": "token"}}
    assert container["image"] == SETTINGS.trainer_image
    assert container["terminationMessagePath"] == "/dev/termination-log"
    output = next(m for m in container["volumeMounts"] if m["name"] == "output")
    assert output["readOnly"] is True and output["subPath"] == "pine"
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_without_a_key_no_secret_is_referenced() -> None:
    mserve = _mserve(auth="none")
    job = verification_job(mserve, _model(mserve), REV, "reverify", "http://x:8000", SETTINGS)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert "--api-key-env" not in container["command"]
    assert all("valueFrom" not in e for e in container["env"])
    assert job["metadata"]["labels"]["tradetune.dev/stage"] == "reverify"


def test_the_candidate_service_selects_only_the_candidate_revision() -> None:
    svc = candidate_service(_mserve(auth="none"), REV)
    _valid(svc)
    assert svc["spec"]["selector"] == revision_selector("pine-llm", REV)
    assert svc["spec"]["selector"][REVISION_LABEL] == revision_slug(REV)
    assert revision_slug(REV) != revision_slug("ftj-uid/5")
    assert revision_deployment_name("pine-llm", REV).endswith(revision_slug(REV))
