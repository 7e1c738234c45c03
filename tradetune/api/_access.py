"""Who may call a served model: the `auth` choice and its rules, shared by ModelServe and promotion.

A server without a key is open to every pod that can reach it, so it must be asked for
explicitly: `auth: none`. Otherwise `apiKeySecretRef` names the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from tradetune.api._rules import Rule, has

AuthMode = Literal["apiKey", "none"]
AUTH_DESCRIPTION = (
    "apiKey: clients must send 'Authorization: Bearer <key>' (the key in apiKeySecretRef) on every "
    "route but /health (and /metrics when publicMetrics); none: no key at all, which must be said "
    "explicitly (the NetworkPolicy still limits who can connect)."
)
API_KEY_DESCRIPTION = (
    "Secret holding the API key clients must send; required unless auth is none. The server gets "
    "it as VLLM_API_KEY, never in the spec or its arguments."
)


def auth_rules(unless: tuple[str, Callable[[Any], bool]] | None = None) -> tuple[Rule, Rule]:
    """A key unless `auth: none` is said, and no key with it (shared by ModelServe and promotion).

    `unless` is a (CEL, pydantic) pair of a condition under which the key is not needed, for
    objects where the first rule only applies sometimes (a promotion that creates nothing).
    """
    prefix = f"{unless[0]} || " if unless is not None else ""
    off: Callable[[Any], bool] = unless[1] if unless is not None else (lambda m: False)
    return (
        Rule(
            f"{prefix}(has(self.auth) && self.auth == 'none') || has(self.apiKeySecretRef)",
            "set apiKeySecretRef to require an API key, or auth: none to serve without one",
            lambda m: off(m) or m.auth == "none" or has(m, "apiKeySecretRef"),
        ),
        Rule(
            "!has(self.auth) || self.auth != 'none' || !has(self.apiKeySecretRef)",
            "auth none takes no apiKeySecretRef",
            lambda m: m.auth != "none" or not has(m, "apiKeySecretRef"),
        ),
    )
