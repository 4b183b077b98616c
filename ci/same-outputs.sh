#!/usr/bin/env bash
# Runs every shipped experiment that a CPU machine can run, and compares two such captures file by file,
# timings aside: the check that a refactoring changed no output.
#
#   ci/same-outputs.sh capture DIR [JAR]   run each experiment into DIR/NAME (JAR: a built tokendrift.jar
#                                          with its lib/ beside it; default harness/target/tokendrift.jar,
#                                          copied first so that a rebuild mid-run cannot change it)
#   ci/same-outputs.sh compare A B         every trace, analysis, report and check output of A against B:
#                                          "same" (byte for byte), "same*" (equal once elapsed_ms,
#                                          latency_ms, pids and the recording commit are blanked) or
#                                          DIFFERENT
#
# provider-local.yaml measures a server under concurrent load: its logits differ between two runs of the
# same build (that is its finding), so its files compare DIFFERENT; compare its run ids, points and
# statuses instead (the structure line this script prints for it).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
names="quickstart batch-invariance summation-order precision sampling-seeds kv-cache mkl-modes
  other-machines cpu-vs-gpu gpu-precisions provider-local"

capture() {
  local out="$1" jar="${2:-$root/harness/target/tokendrift.jar}"
  mkdir -p "$out/jar" && cp -r "$jar" "$(dirname "$jar")/lib" "$out/jar/"
  td() { java -Dai.djl.offline=true -jar "$out/jar/$(basename "$jar")" "$@"; }
  for n in $names; do
    td run "$root/experiments/$n.yaml" --out "$out/$n" --force >"$out/$n.log" 2>&1
    echo "$n: exit $?" | tee -a "$out/summary.txt"
  done
  td check "$root/ci/check.yaml" --baseline "$root/ci/baselines/bundled" --junit "$out/check.xml" \
    --markdown "$out/check.md" >"$out/check.log" 2>&1
  echo "check: exit $?" | tee -a "$out/summary.txt"
}

norm() {
  sed -E 's/"(elapsed_ms|latency_ms|pid)":[0-9.eE+-]+/"\1":X/g; s/"tokendrift\.commit":"[0-9a-f]+"/"tokendrift.commit":X/g' "$1"
}

structure() {
  python3 - "$1" <<'PY'
import hashlib, json, sys
rows = []
for i, line in enumerate(open(sys.argv[1])):
    o = json.loads(line)
    if i == 0:
        m = o.pop("manifest"); m.pop("tokendrift.commit", None)
        rows += [json.dumps(o, sort_keys=True), json.dumps(sorted(m))]
    else:
        rows.append(json.dumps([o["id"], o["status"], o["prompt_id"], o["point"], o["seed"], o["repeat"],
                                sorted(o), sorted(o.get("provider", {}))]))
print(hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16])
PY
}

compare() {
  local a="$1" b="$2" f
  for f in $(cd "$a" && find . -path ./jar -prune -o -type f \( -name '*.jsonl' -o -name '*.json' -o -name '*.md' \
      -o -name '*.html' -o -name '*.xml' \) -print | sort); do
    if [ ! -f "$b/$f" ]; then echo "MISSING   $f"
    elif cmp -s "$a/$f" "$b/$f"; then echo "same      $f"
    elif cmp -s <(norm "$a/$f") <(norm "$b/$f"); then echo "same*     $f"
    else echo "DIFFERENT $f"; fi
  done
  if [ -f "$a/provider-local/trace.jsonl" ] && [ -f "$b/provider-local/trace.jsonl" ]; then
    echo "provider-local structure: $(structure "$a/provider-local/trace.jsonl") vs $(structure "$b/provider-local/trace.jsonl")"
  fi
}

case "${1:-}" in
  capture) shift; capture "$@" ;;
  compare) shift; compare "$@" ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
