"""The operator's RBAC: exactly the API calls the operator makes, nothing more.

The one list of what the operator calls is docs/operator.md ("RBAC the operator needs"): the
operator's own tests run every code path against the emulated API server and hold that list
equal to the requests it made. Here the chart's ClusterRole (cluster-wide install) or each
Role (namespace-scoped install) must grant exactly that list.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.integration.chart._support import CHART, ROOT, VALUES_SETS, Helm, by_kind, one

Triple = tuple[str, str, str]  # (apiGroup, resource, verb)
OPERATOR_DOC = ROOT / "docs" / "operator.md"
HEADING = "## RBAC the operator needs"
FORBIDDEN_VERBS = {"*", "escalate", "bind", "impersonate", "deletecollection"}


def _documented() -> tuple[set[Triple], set[Triple]]:
    """(the operator's rules, the extra peering rules) from the YAML blocks under HEADING."""
    text = OPERATOR_DOC.read_text(encoding="utf-8")
    assert HEADING in text, f"docs/operator.md has no {HEADING!r} section"
    section = text[text.index(HEADING) + len(HEADING) :]
    section = section.split("\n## ", 1)[0]  # up to the next section
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "expected the operator's rules and the peering rules"
    base, peering = (_rule_triples(yaml.safe_load(block)) for block in blocks)
    assert base and peering
    return base, peering


def _rule_triples(rules: list[dict[str, Any]]) -> set[Triple]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def _granted(role: dict[str, Any]) -> set[Triple]:
    granted: set[Triple] = set()
    for rule in role["rules"]:
        assert "nonResourceURLs" not in rule and "resourceNames" not in rule, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    granted.add((group, resource, verb))
    return granted


def _expected(*, peering: str | None) -> set[Triple]:
    base, peering_rules = _documented()
    if peering is None:
        return base
    mine = {t for t in peering_rules if t[1] == peering}
    assert mine, f"docs/operator.md grants nothing on {peering}"
    return base | mine


def test_the_documented_list_is_sane() -> None:
    """The list this test trusts is not empty and grants nothing dangerous."""
    base, peering = _documented()
    assert ("tradetune.dev", "finetunejobs", "watch") in base
    assert ("tradetune.dev", "finetunejobs/status", "patch") in base
    assert {r for _, r, _ in peering} == {"clusterkopfpeerings", "kopfpeerings"}
    for group, resource, verb in base | peering:
        assert verb not in FORBIDDEN_VERBS and "*" not in (group, resource)
        assert resource != "secrets"


def test_cluster_wide_install_grants_exactly_the_operator_calls(helm: Helm) -> None:
    objs = helm.render()
    role = one(objs, "ClusterRole")
    assert _granted(role) == _expected(peering=None)
    binding = one(objs, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    account = one(objs, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "tradetune-system"}
    ]
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert not by_kind(objs, "Role") and not by_kind(objs, "RoleBinding")


def test_cluster_wide_peering_adds_only_cluster_peerings(helm: Helm) -> None:
    objs = helm.render(*VALUES_SETS["multi-replica"])
    assert _granted(one(objs, "ClusterRole")) == _expected(peering="clusterkopfpeerings")


@pytest.mark.parametrize("values_set", ["namespace-scoped", "namespace-scoped+multi-replica"])
def test_namespace_scoped_install_has_no_cluster_rights(helm: Helm, values_set: str) -> None:
    objs = helm.render(*VALUES_SETS[values_set])
    assert not by_kind(objs, "ClusterRole") and not by_kind(objs, "ClusterRoleBinding")
    roles = by_kind(objs, "Role")
    bindings = by_kind(objs, "RoleBinding")
    watched = ["ml-team-a", "ml-team-b"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == watched
    assert sorted(b["metadata"]["namespace"] for b in bindings) == watched
    peering = "kopfpeerings" if "multi-replica" in values_set else None
    account = one(objs, "ServiceAccount")["metadata"]["name"]
    for role in roles:
        assert _granted(role) == _expected(peering=peering), role["metadata"]["namespace"]
    for binding in bindings:
        role = next(r for r in roles if r["metadata"]["namespace"] == binding["metadata"]["namespace"])
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": role["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": "tradetune-system"}
        ]


@pytest.mark.parametrize("values", list(VALUES_SETS.values()), ids=list(VALUES_SETS))
def test_no_dangerous_rights(helm: Helm, values: list[str]) -> None:
    objs = helm.render(*values)
    roles = by_kind(objs, "ClusterRole") + by_kind(objs, "Role")
    assert roles
    for role in roles:
        for group, resource, verb in _granted(role):
            assert "*" not in (group, resource), (group, resource, verb)
            assert verb not in FORBIDDEN_VERBS, (group, resource, verb)
            # Secrets only by reference: pods mount them, the operator never reads them.
            assert resource != "secrets"
            assert not (resource == "pods" and verb not in {"get", "list", "watch"})
            assert resource not in {"pods/exec", "pods/attach", "serviceaccounts/token", "nodes"}


def test_rbac_can_be_left_to_the_cluster_admin(helm: Helm) -> None:
    objs = helm.render(
        "--set", "rbac.create=false,serviceAccount.create=false,serviceAccount.name=ops-managed"
    )
    for kind in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"):
        assert not by_kind(objs, kind), kind
    assert one(objs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "ops-managed"


def test_existing_service_account_must_be_named(helm: Helm) -> None:
    proc = helm.run("template", "tt", str(CHART), "--set", "serviceAccount.create=false", check=False)
    assert proc.returncode != 0
    assert "serviceAccount.name must name an existing ServiceAccount" in proc.stderr
