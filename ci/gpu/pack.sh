#!/usr/bin/env bash
# Packs what a GPU machine without network (and often without Java) needs to run the GPU experiments
# through the torch engine: the jar and its libraries, a jlink'ed Java runtime, the experiment specs and a
# run script. The machine needs only Python 3 with its own PyTorch (CUDA or ROCm build).
#   ci/gpu/pack.sh [OUT.tar.gz]        (default: harness/target/tokendrift-gpu.tar.gz)
# On the GPU machine:
#   tar xzf tokendrift-gpu.tar.gz && tokendrift-gpu/run.sh            # cpu-vs-gpu + gpu-precisions
#   PYTHON=/opt/venv/bin/python tokendrift-gpu/run.sh --engine-option tf32=on
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/harness/target/tokendrift-gpu.tar.gz}"
jar="$root/harness/target/tokendrift.jar"
# The launcher rebuilds the jar when the sources are newer than it.
"$root/tokendrift" --version >/dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$work/tokendrift-gpu"
mkdir -p "$dest/experiments"
cp "$jar" "$dest/"
cp -r "$root/harness/target/lib" "$dest/lib"
cp "$root/experiments/cpu-vs-gpu.yaml" "$root/experiments/gpu-precisions.yaml" "$dest/experiments/"
# The modules the jar and its libraries use (jdeps), plus what they load reflectively.
jlink="${JAVA_HOME:+$JAVA_HOME/bin/}jlink"
modules="java.base,java.logging,java.management,java.naming,java.net.http,java.sql,java.xml,java.desktop,java.scripting,jdk.unsupported,jdk.crypto.ec,jdk.zipfs,jdk.httpserver,jdk.management"
"$jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
  --compress=2 --output "$dest/runtime" 2>/dev/null
cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs the GPU experiments with the packed Java runtime; PYTHON names the interpreter whose torch runs
# the forward pass (default: python3). Extra arguments go to both runs (e.g. --engine-option tf32=on).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
out="${OUT:-$here/results}"
status=0
for spec in cpu-vs-gpu gpu-precisions; do
  "$here/runtime/bin/java" -Dai.djl.offline=true -jar "$here/tokendrift.jar" run \
    "$here/experiments/$spec.yaml" --engine-option "python=$py" --out "$out/$spec" "$@" || status=$?
  [ "$status" -le 1 ] || exit "$status"
done
exit "$status"
RUN
chmod +x "$dest/run.sh"
tar -C "$work" -czf "$out" tokendrift-gpu
echo "ci/gpu/pack.sh: wrote $out ($(du -h "$out" | cut -f1))"
