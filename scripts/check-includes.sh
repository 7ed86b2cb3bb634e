#!/usr/bin/env bash
# The architecture's dependency graph (docs/ARCHITECTURE.md), checked on every `#include "folder/..."` line: a
# folder may include only itself and the folders below it. Prints each arrow that points the wrong way and exits 1;
# run by ctest ("architecture: ...") so a wrong include cannot land. Usage: check-includes.sh [TREE] | --self-test
set -euo pipefail
if [ "${1:-}" = "--self-test" ]; then
  # The check must refuse an upward arrow: core/ including engine/ in a scratch tree.
  t=$(mktemp -d)
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/core" "$t/engine"
  echo '#include "engine/model.h"' > "$t/core/x.h"
  touch "$t/engine/model.h"
  if bash "$0" "$t"; then echo "check-includes --self-test: an upward include passed"; exit 1; fi
  echo "check-includes --self-test: the upward include was refused"
  exit 0
fi
cd "${1:-$(dirname "$0")/..}"  # the tree to check: the repository, or the folder given

# folder -> the folders it may include (itself included)
declare -A allowed=(
  [core]="core"
  [engine]="core engine"
  [train]="core engine train"
  [datasets]="core datasets"
  [tasks]="core datasets tasks"
  [scrolls]="core datasets tasks scrolls"
  [probes]="core datasets tasks scrolls probes"
  [store]="core store"
  [harness]="core engine train datasets tasks scrolls probes store harness"
  [reports]="core store reports"
  [cli]="core engine train datasets tasks scrolls probes store harness reports cli"
)
# Folders that hold no library code.
not_code=" tests models scripts cmake docs build "

bad=0
for dir in */; do
  folder=${dir%/}
  [[ "$not_code" == *" $folder "* || "$folder" == build* ]] && continue
  if [ -z "$(find "$folder" -name '*.cpp' -o -name '*.h' -o -name '*.cu' | head -n 1)" ]; then continue; fi
  if [ -z "${allowed[$folder]+x}" ]; then
    echo "check-includes: $folder/ holds code but has no place in the graph: add it to scripts/check-includes.sh"
    bad=1
    continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    inc=${rest#*:}
    inc=${inc#*\"}
    inc=${inc%\"*}
    top=${inc%%/*}
    [ -n "${allowed[$top]+x}" ] || continue  # not one of our folders (a generated or third-party header)
    if [[ " ${allowed[$folder]} " != *" $top "* ]]; then
      echo "$file:$line: $folder/ may not include $inc (it may include: ${allowed[$folder]})"
      bad=1
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[A-Za-z0-9_]+/' "$folder" \
             --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' --include='*.inc' || true)
done
if [ "$bad" -ne 0 ]; then
  echo "check-includes: includes must point down the graph in docs/ARCHITECTURE.md"
  exit 1
fi
echo "check-includes: every include points down the graph"
