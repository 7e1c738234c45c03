"""The trainer image's Dockerfile, parsed: pinned base, non-root user, entrypoint, no secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[3] / "trainer_image" / "Dockerfile"
SECRET_WORDS = re.compile(
    r"(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIALS?|PRIVATE_KEY)($|_)", re.IGNORECASE
)


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_base_image_is_cuda_pytorch_pinned_by_tag() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 1
    image = froms[0].split()[0]
    name, _, tag = image.rpartition(":")
    assert name == "pytorch/pytorch" and tag and tag != "latest"
    assert "cuda" in tag and "2.13.0" in tag  # the torch pin of the trainer extra


def test_runs_as_a_numeric_non_root_user() -> None:
    users = [args for word, args in instructions() if word == "USER"]
    assert users, "no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_entrypoint_is_tradetune_train_and_installs_the_trainer_extra() -> None:
    ins = instructions()
    entry = [json.loads(args) for word, args in ins if word == "ENTRYPOINT"]
    assert entry == [["tradetune", "train"]]
    runs = " ".join(args for word, args in ins if word == "RUN")
    assert '".[trainer]"' in runs and "pip check" in runs


def test_no_secret_is_baked_in() -> None:
    for word, args in instructions():
        if word in {"ENV", "ARG"}:
            names = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", args) or [args.split()[0]]
            for name in names:
                assert not SECRET_WORDS.search(name), f"{word} {name} looks like a secret"
