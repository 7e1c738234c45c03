#!/usr/bin/env bash
# Build the operator, trainer and server images with whichever builder this machine has:
# docker, podman or buildah (in that order). REGISTRY and TAG name them; push them yourself
# (the printed commands) and set the chart's image.repository / trainerImage / serverImage.
set -euo pipefail
REGISTRY="${REGISTRY:-ghcr.io/tradetune}"
TAG="${TAG:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)}"
builder="${BUILDER:-}"
if [[ -z "$builder" ]]; then
  for candidate in docker podman buildah; do
    if command -v "$candidate" >/dev/null 2>&1; then builder="$candidate"; break; fi
  done
fi
if [[ -z "$builder" ]]; then
  echo "make images: no image builder found; install docker, podman or buildah (or set BUILDER=...)" >&2
  exit 2
fi
build() {  # build IMAGE DOCKERFILE
  if [[ "$builder" == buildah ]]; then
    buildah bud -f "$2" -t "$1" .
  else
    "$builder" build -f "$2" -t "$1" .
  fi
}
build "$REGISTRY/operator:$TAG" operator/Dockerfile
build "$REGISTRY/trainer:$TAG" trainer_image/Dockerfile
build "$REGISTRY/server:$TAG" server_image/Dockerfile
cat <<MSG
built with $builder: $REGISTRY/{operator,trainer,server}:$TAG
push them:   for i in operator trainer server; do $builder push $REGISTRY/\$i:$TAG; done
then:        helm install tradetune charts/tradetune -n tradetune-system --create-namespace \\
               --set image.repository=$REGISTRY/operator --set image.tag=$TAG \\
               --set trainerImage.repository=$REGISTRY/trainer --set serverImage.repository=$REGISTRY/server
MSG
