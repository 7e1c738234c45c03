"""A base model given as a Hugging Face hub id: find it in the local hub cache, or let vLLM fetch it.

In adapter mode a ModelServe serves the FineTuneJob's base model, which the trainer named by
hub id and downloaded into the cache volume (`HF_HOME`). The hub cache keeps a model as
`<HF_HOME>/hub/models--<org>--<name>/snapshots/<commit>/`, with `refs/<revision>` holding the
commit, so the snapshot directory can be found without the network. When it is not there,
the server may download the model itself, but only when told so (`HF_HUB_OFFLINE=0`, with
`HF_TOKEN` for a gated model); otherwise the user gets one message saying what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# org/name as the hub spells repository ids (no leading dot or slash, one slash).
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TRUE = {"1", "true", "yes", "on"}


def looks_like_hub_id(model: str) -> bool:
    """`org/name` that is not a path on this machine."""
    return bool(_HUB_ID.match(model)) and ".." not in model and not Path(model).exists()


def hub_cache_dir(env: Mapping[str, str]) -> Path:
    """Where huggingface_hub keeps repositories: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    home = env.get("HF_HOME") or str(Path(xdg) / "huggingface")
    return Path(home) / "hub"


def repo_dir(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def cached_snapshot(cache: Path, repo_id: str, revision: str | None) -> Path | None:
    """The snapshot directory of `repo_id` at `revision` (a ref or a commit) if it holds a model."""
    repo = repo_dir(cache, repo_id)
    ref = repo / "refs" / (revision or "main")
    try:
        commit = ref.read_text().strip() if ref.is_file() else (revision or "main")
    except OSError:
        return None
    snapshot = repo / "snapshots" / commit
    return snapshot if (snapshot / "config.json").is_file() else None


def downloads_allowed(env: Mapping[str, str]) -> bool:
    """Whether the server may fetch from the hub: only when HF_HUB_OFFLINE is explicitly off."""
    return env.get("HF_HUB_OFFLINE", "1").strip().lower() not in _TRUE
