"""The ModelServe's I/O edge: fetch its children, call the pure decision, apply it.

Split from runtime.py (which keeps the FineTuneJob side, the loops and the runners) so each
file has one job. `Runtime.reconcile_modelserve` calls `reconcile_modelserve(runtime, ...)`;
the functions here need only what `ServeHost` names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from tradetune.operator import builders, kube, ownership, patches, refusals, rollout_serve
from tradetune.operator import reconcile_modelserve as rm
from tradetune.operator.builders import verify as vb
from tradetune.operator.metrics import OperatorMetrics
from tradetune.operator.posting import EventPoster
from tradetune.operator.rollout_observe import RolloutChildren
from tradetune.operator.settings import OperatorSettings


class Trigger(Protocol):
    def trigger(self, namespace: str, name: str, delay: float = 0.0) -> None: ...


class ServeHost(Protocol):
    """What the ModelServe I/O needs from the operator's Runtime."""

    settings: OperatorSettings
    metrics: OperatorMetrics
    events: EventPoster

    @property
    def now(self) -> Callable[[], datetime]: ...

    @property
    def api(self) -> kube.KubeClient: ...

    @property
    def mserve(self) -> Trigger: ...


# The kinds a ModelServe owns, by manifest kind.
SERVE_CHILDREN = {
    "Deployment": kube.DEPLOYMENTS,
    "Service": kube.SERVICES,
    "NetworkPolicy": kube.NETWORKPOLICIES,
    "Job": kube.JOBS,
}


async def reconcile_modelserve(host: ServeHost, namespace: str, name: str) -> None:
    api = host.api
    body = await api.get(kube.MODELSERVES, namespace, name)
    if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return
    if rollout_serve.drives(body):
        await _rollout(host, body, namespace, name)
    else:
        await _single_deployment(host, body, namespace, name)


async def _owned_list(
    host: ServeHost, res: kube.Res, namespace: str, selector: str, uid: str
) -> list[dict[str, Any]]:
    return [obj for obj in await host.api.list(res, namespace, selector) if ownership.owned_by(obj, uid)]


async def _rollout_children(
    host: ServeHost, body: dict[str, Any], namespace: str, name: str
) -> RolloutChildren:
    """Every child the rollout reads; Deployments and Jobs only when this ModelServe owns them."""
    api, uid = host.api, str(body["metadata"].get("uid") or "")
    inst, comp = builders.INSTANCE_LABEL, builders.COMPONENT_LABEL
    legacy = await api.get(kube.DEPLOYMENTS, namespace, builders.server_name(name))
    source = ((body.get("spec") or {}).get("model") or {}).get("fromFineTuneJob")
    last_good = ((body.get("status") or {}).get("lastGoodModel") or {}).get("fineTuneJob")
    return RolloutChildren(
        deployments=await _owned_list(
            host, kube.DEPLOYMENTS, namespace, f"{inst}={name},{comp}=server,{vb.REVISION_LABEL}", uid
        ),
        server_pods=await api.list(kube.PODS, namespace, f"{builders.MSERVE_LABEL}={name},{comp}=server"),
        jobs=await _owned_list(host, kube.JOBS, namespace, f"{inst}={name},{comp}=verifier", uid),
        job_pods=await api.list(kube.PODS, namespace, f"{inst}={name},{comp}=verifier"),
        service=await api.get(kube.SERVICES, namespace, builders.server_name(name)),
        candidate_service=await api.get(kube.SERVICES, namespace, vb.candidate_service_name(name)),
        network_policy=await api.get(kube.NETWORKPOLICIES, namespace, builders.server_name(name)),
        legacy_deployment=legacy if legacy is not None and ownership.owned_by(legacy, uid) else None,
        fine_tune_job=await api.get(kube.FINETUNEJOBS, namespace, source)
        if isinstance(source, str)
        else None,
        last_good_job=(
            await api.get(kube.FINETUNEJOBS, namespace, last_good)
            if isinstance(last_good, str) and last_good != source
            else None
        ),
    )


async def _rollout(host: ServeHost, body: dict[str, Any], namespace: str, name: str) -> None:
    """A revision per Deployment, verified live before the Service selects it (rollout_serve.py)."""
    api = host.api
    uid = str(body["metadata"].get("uid") or "")
    children = await _rollout_children(host, body, namespace, name)
    decision = rollout_serve.decide(body, children, host.settings, host.now())
    for op in decision.ops:
        if isinstance(op, rollout_serve.Create):
            kind, child = op.manifest["kind"], str(op.manifest["metadata"]["name"])
            res = SERVE_CHILDREN[kind]
            try:
                await api.create(res, namespace, op.manifest)
                continue
            except kube.ApiError as exc:
                if exc.status == 409:
                    holder = await api.get(res, namespace, child)
                    if holder is None or ownership.owned_by(holder, uid):
                        host.mserve.trigger(namespace, name, 1.0)  # ours after all: decide again
                        continue
                    text = ownership.conflict_message(kind, child, "ModelServe", name)
                    refused: refusals.Refusal | None = refusals.Refusal(ownership.NAME_CONFLICT, text)
                else:
                    refused = refusals.refusal(kind, child, exc.status, exc.message)
                    if refused is None:
                        raise
            decision = rollout_serve.decide(body, children, host.settings, host.now(), refused)
            break
        if isinstance(op, rollout_serve.Patch):
            await api.patch(SERVE_CHILDREN[op.kind], namespace, op.name, op.patch)
        elif isinstance(op, rollout_serve.Delete):
            try:
                await api.delete(SERVE_CHILDREN[op.kind], namespace, op.name, uid=op.uid)
            except kube.ApiError as exc:
                if exc.status != 409:  # 409: another object holds the name now; not ours to delete
                    raise
    if await _write_status(host, body, namespace, name, decision.serve) is None:
        return
    if decision.rolled_back:
        host.metrics.rolled_back(namespace, name)
    if decision.requeue_after is not None:
        host.mserve.trigger(namespace, name, decision.requeue_after)


async def _single_deployment(host: ServeHost, body: dict[str, Any], namespace: str, name: str) -> None:
    """One Deployment and one Service, rolled in place (no live verification)."""
    api = host.api
    child = builders.server_name(name)
    deployment = await api.get(kube.DEPLOYMENTS, namespace, child)
    service = await api.get(kube.SERVICES, namespace, child)
    policy = await api.get(kube.NETWORKPOLICIES, namespace, child)
    source = ((body.get("spec") or {}).get("model") or {}).get("fromFineTuneJob")
    ftj = await api.get(kube.FINETUNEJOBS, namespace, source) if isinstance(source, str) else None
    pods = (
        await api.list(
            kube.PODS, namespace, f"{builders.MSERVE_LABEL}={name},{builders.COMPONENT_LABEL}=server"
        )
        if deployment is not None
        else []
    )
    observed = rm.ServeObserved(
        deployment=deployment, service=service, fine_tune_job=ftj, network_policy=policy, pods=pods
    )
    decision = rm.decide(body, observed, host.settings, host.now())
    for manifest in decision.create:
        res = SERVE_CHILDREN[manifest["kind"]]
        try:
            await api.create(res, namespace, manifest)
        except kube.ApiError as exc:
            if exc.status == 409:
                host.mserve.trigger(namespace, name, 1.0)  # decide again with it observed
                continue
            kind, child_name = manifest["kind"], manifest["metadata"]["name"]
            refused = refusals.refusal(kind, child_name, exc.status, exc.message)
            if refused is None:
                raise
            observed = dataclasses.replace(observed, refused=refused)
            decision = rm.decide(body, observed, host.settings, host.now())
            decision.create, decision.patch = [], []
            break
    for manifest in decision.patch:
        res = SERVE_CHILDREN[manifest["kind"]]
        observed_children = {"Deployment": deployment, "Service": service, "NetworkPolicy": policy}
        current = observed_children.get(manifest["kind"])
        patch = (
            patches.child_patch(manifest)
            if current is None
            else patches.with_uid(patches.child_patch(manifest), current)
        )
        await api.patch(res, namespace, manifest["metadata"]["name"], patch)
    await _write_status(host, body, namespace, name, decision)


async def _write_status(
    host: ServeHost, body: dict[str, Any], namespace: str, name: str, decision: rm.ServeDecision
) -> dict[str, Any] | None:
    """Patch the status (when it changed), post the events, export the gauges."""
    if decision.status is not None:
        patched = await host.api.patch(
            kube.MODELSERVES,
            namespace,
            name,
            patches.status_patch(body.get("status"), decision.status),
            subresource="status",
        )
        if patched is None:
            return None
        body = patched
    host.events.post(body, decision.events)
    host.metrics.observe_modelserve(
        namespace,
        name,
        ready=decision.ready_replicas,
        desired=decision.desired_replicas,
        degraded=decision.degraded,
    )
    return body
