#!/usr/bin/env bash
# Builds interfaces/spatialbot_interfaces (.msg/.srv/.action -> Python + C typesupport) with plain
# CMake against the PyPI ros-jazzy wheels in a venv, into build/interfaces/install.
# Idempotent: a stamp over the interface sources, this script and the wheel versions skips the
# build (silently) when nothing changed. Needs cmake, g++ and the Python headers (python3-dev) and
# the wheels of requirements/interfaces.txt installed in the venv.
# Usage: scripts/build_interfaces.sh [VENV]   (default .venv); then: source scripts/interfaces_env.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(cd "${1:-$root/.venv}" 2>/dev/null && pwd)" || { echo "build_interfaces: no venv ${1:-$root/.venv}" >&2; exit 1; }
cd "$root"
py="$venv/bin/python"
src="$root/interfaces/spatialbot_interfaces"
out="$root/build/interfaces"
stamp_file="$out/.stamp"

die() { echo "build_interfaces: $*" >&2; exit 1; }
[ -x "$py" ] || die "no Python in $venv (run scripts/setup.sh first)"

site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
stamp=$( {
  echo "$venv"
  find "$src" -type f | LC_ALL=C sort | xargs sha256sum
  sha256sum "$root/scripts/build_interfaces.sh"
  # versions of the wheels the generated code compiles against
  (cd "$site" && ls -d ros_*.dist-info numpy-*.dist-info empy-*.dist-info catkin_pkg-*.dist-info 2>/dev/null | LC_ALL=C sort)
} | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ] && [ -d "$out/install" ]; then
  exit 0
fi

for tool in cmake c++ cc; do
  command -v "$tool" >/dev/null || die "'$tool' not found: apt-get install cmake g++ python3-dev"
done
[ -f "$venv/share/rosidl_default_generators/cmake/rosidl_default_generatorsConfig.cmake" ] \
  || die "rosidl generators missing in $venv: pip install -r requirements/interfaces.txt"
read -r py_inc np_inc < <("$py" -c 'import sysconfig, numpy; print(sysconfig.get_paths()["include"], numpy.get_include())')
[ -f "$py_inc/Python.h" ] || die "no Python.h in $py_inc: apt-get install python3-dev"

# The wheels' CMake export files carry the wheel build machine's include dirs
# (/opt/python/cp311-cp311/...); CMake rejects imported targets with missing include dirs.
mapfile -t baked < <(grep -rlE '/opt/python/cp[0-9]+-cp[0-9]+' "$venv/share" --include='*.cmake' || true)
if [ ${#baked[@]} -gt 0 ]; then
  sed -i -E \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/_core/include#$np_inc#g" \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python3\.[0-9]+#$py_inc#g" "${baked[@]}"
  ! grep -lE '/opt/python/cp[0-9]+-cp[0-9]+' "${baked[@]}" || die "unexpected baked paths left in the files above"
fi

echo "build_interfaces: building spatialbot_interfaces (about 1 min on 2 cores, log in build/interfaces/build.log)"
start=$SECONDS
rm -rf "$out/build" "$out/install" "$stamp_file"
mkdir -p "$out"
log="$out/build.log"
# Only the venv's packages: ament finds typesupports through its resource index.
if ! env -u PYTHONPATH AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" bash -c '
    set -e
    cmake -S "$1" -B "$2/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_INSTALL_PREFIX="$2/install" -DPython3_EXECUTABLE="$3"
    cmake --build "$2/build" -j "$(nproc)"
    cmake --install "$2/build"' _ "$src" "$out" "$py" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "build failed (full log: $log)"
fi

# Smoke check with the same environment users get.
if ! (source "$root/scripts/interfaces_env.sh" && "$py" -c \
    'import spatialbot_interfaces.msg, spatialbot_interfaces.srv, spatialbot_interfaces.action') >>"$log" 2>&1; then
  tail -n 10 "$log" >&2
  die "built, but the Python bindings do not import (log: $log)"
fi
echo "$stamp" > "$stamp_file"
echo "build_interfaces: done in $((SECONDS - start)) s -> build/interfaces/install"
