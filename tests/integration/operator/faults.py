"""Injected API-server faults: answer an error status to the next few matching requests.

The operator must survive what a real API server does under load or during an upgrade (500s,
409 conflicts); a test appends a `Fault` and the emulator serves it before handling a request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    """Answer `status` to the next `count` matching requests (never to the test's own client)."""

    status: int
    count: int
    actions: set[str] | None = None  # e.g. {"create", "update"}; None: all but watch
    resource: str | None = None  # a plural, e.g. "jobs"
    subresource: str | None = None  # e.g. "status": only requests to that subresource
    served: int = 0

    def answer(self, plural: str, group: str, verb: str, namespace: str) -> tuple[str, str]:
        """(reason, message) as a real API server words this status."""
        if self.status == 403:  # as RBAC answers
            return "Forbidden", (
                f'{plural}.{group} is forbidden: User "system:serviceaccount:tradetune:operator" '
                f'cannot {verb} resource "{plural}" in API group "{group}" in the namespace "{namespace}"'
            )
        reason = {409: "Conflict"}.get(self.status, "InternalError")
        return reason, f"injected fault {self.served}/{self.count}"

    def matches(self, action: str, plural: str | None, subresource: str | None) -> bool:
        if self.served >= self.count:
            return False
        if self.actions is None:
            if action == "watch":
                return False
        elif action not in self.actions:
            return False
        if self.resource is not None and plural != self.resource:
            return False
        return self.subresource is None or subresource == self.subresource


def first_due(faults: list[Fault], action: str, plural: str | None, subresource: str | None) -> Fault | None:
    """The first fault that matches the request, counted as served; None when none is due."""
    for fault in faults:
        if fault.matches(action, plural, subresource):
            fault.served += 1
            return fault
    return None
