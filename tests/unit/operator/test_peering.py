"""Which replica is active: kopf's peering rule, applied to the peering object's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradetune.operator import peering
from tradetune.operator.__main__ import kopf_args
from tradetune.operator.settings import load_settings

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _peer(priority: int, seconds_ago: float = 1.0, lifetime: int = 60) -> dict[str, object]:
    return {
        "priority": priority,
        "lifetime": lifetime,
        "lastseen": (NOW - timedelta(seconds=seconds_ago)).isoformat(),
    }


def test_the_highest_live_priority_is_active() -> None:
    peers = {"a": _peer(200), "b": _peer(100)}
    assert peering.is_active(peers, "a", 200, NOW)
    assert not peering.is_active(peers, "b", 100, NOW)


def test_same_priority_pauses_everyone_as_kopf_does() -> None:
    peers = {"a": _peer(100), "b": _peer(100)}
    assert not peering.is_active(peers, "a", 100, NOW) and not peering.is_active(peers, "b", 100, NOW)


def test_a_dead_peer_no_longer_blocks() -> None:
    peers = {"a": _peer(200, seconds_ago=61), "b": _peer(100)}
    assert peering.is_active(peers, "b", 100, NOW)
    assert not peering.is_active({"a": _peer(200, seconds_ago=59), "b": _peer(100)}, "b", 100, NOW)


def test_not_announced_yet_is_not_active() -> None:
    assert not peering.is_active({}, "a", 100, NOW)


def test_each_process_gets_an_identity_and_its_own_priority() -> None:
    first: dict[str, str] = {}
    second: dict[str, str] = {}
    peering.ensure_identity_and_priority(first)
    peering.ensure_identity_and_priority(second)
    assert first["POD_ID"] and int(first["TRADETUNE_PEERING_PRIORITY"]) > 0
    assert first["TRADETUNE_PEERING_PRIORITY"] != second["TRADETUNE_PEERING_PRIORITY"]
    kept = {"POD_ID": "op-0", "TRADETUNE_PEERING_PRIORITY": "7"}
    peering.ensure_identity_and_priority(kept)
    assert kept == {"POD_ID": "op-0", "TRADETUNE_PEERING_PRIORITY": "7"}


def test_kopf_runs_with_the_priority() -> None:
    settings = load_settings(
        {"TRADETUNE_PEERING": "tt", "TRADETUNE_PEERING_PRIORITY": "42", "POD_ID": "op-0"}
    )
    args = kopf_args(settings)
    assert args[args.index("--priority") + 1] == "42"
    assert settings.identity == "op-0" and settings.peering_lifetime == 60
