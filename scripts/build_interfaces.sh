#!/usr/bin/env bash
# Builds the ROS interface packages the project needs against the PyPI ros-jazzy wheels in a venv,
# into build/interfaces/install: every package under interfaces/upstream/ (control_msgs, tf2_msgs:
# definitions copied field for field from upstream, which has no wheels) and then
# interfaces/spatialbot_interfaces.
# - Order: package.xml dependencies; packages that do not depend on each other share one CMake
#   configure and one parallel build (one "level").
# - Generators: C + Python typesupports only (C++ is never used from a venv): a wrapper around
#   rosidl_generate_interfaces drops the C++ generators before they run.
# - An upstream package that already imports without this build (a sourced /opt/ros/$ROS_DISTRO)
#   is skipped: on a ROS install the system packages are used.
# - Idempotent: a stamp over the sources, this script, the wheel versions and the skip decisions
#   skips the build (silently) when nothing changed.
# Needs cmake, g++, python3-dev and the wheels of requirements/interfaces.txt in the venv.
# Usage: scripts/build_interfaces.sh [VENV]   (default .venv); then: source scripts/interfaces_env.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(cd "${1:-$root/.venv}" 2>/dev/null && pwd)" || { echo "build_interfaces: no venv ${1:-$root/.venv}" >&2; exit 1; }
cd "$root"
py="$venv/bin/python"
out="$root/build/interfaces"
install="$out/install"
stamp_file="$out/.stamp"

die() { echo "build_interfaces: $*" >&2; exit 1; }
[ -x "$py" ] || die "no Python in $venv (run scripts/setup.sh first)"

# Package directories in build order, one level per line (space separated).
mapfile -t levels < <("$py" - "$root/interfaces" <<'EOF'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

base = Path(sys.argv[1])
dirs = sorted(p.parent for p in (base / "upstream").glob("*/package.xml")) + [base / "spatialbot_interfaces"]
deps = {}
for d in dirs:
    xml = ET.parse(d / "package.xml").getroot()
    name = xml.findtext("name")
    deps[name] = (d, {e.text for e in xml if e.tag.endswith("depend") and e.text})
local = set(deps)
done: set[str] = set()
while len(done) < len(deps):
    level = sorted(n for n, (_, ds) in deps.items() if n not in done and ds & local <= done)
    if not level:
        sys.exit(f"dependency cycle among {sorted(local - done)}")
    print(" ".join(str(deps[n][0]) for n in level))
    done |= set(level)
EOF
)
[ ${#levels[@]} -gt 0 ] || die "no interface packages found under interfaces/"

# An upstream package importable without our install (system ROS) is not built.
no_self_pp="$(tr ':' '\n' <<<"${PYTHONPATH:-}" | grep -v "^$install" | paste -sd: || true)"
skipped=()
for i in "${!levels[@]}"; do
  keep=()
  for dir in ${levels[$i]}; do
    name="$(basename "$dir")"
    if [[ "$dir" == */upstream/* ]] && [ -n "${ROS_DISTRO:-}" ] \
        && PYTHONPATH="$no_self_pp" "$py" -c "import $name.msg" 2>/dev/null; then
      skipped+=("$name")
    else
      keep+=("$dir")
    fi
  done
  levels[$i]="${keep[*]:-}"
done

site="$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
stamp=$( {
  echo "$venv"
  echo "skipped: ${skipped[*]:-}"
  printf '%s\n' "${levels[@]}"
  find "$root/interfaces" -type f | LC_ALL=C sort | xargs sha256sum
  sha256sum "$root/scripts/build_interfaces.sh"
  # versions of the wheels the generated code compiles against
  (cd "$site" && ls -d ros_*.dist-info numpy-*.dist-info empy-*.dist-info catkin_pkg-*.dist-info 2>/dev/null | LC_ALL=C sort)
} | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ] && [ -d "$install" ]; then
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

names="$(printf '%s\n' "${levels[@]}" | xargs -n1 basename 2>/dev/null | paste -sd' ' || true)"
[ ${#skipped[@]} -gt 0 ] && echo "build_interfaces: using the system's ${skipped[*]} (importable from ROS $ROS_DISTRO)"
echo "build_interfaces: building $names (log in build/interfaces/build.log)"
start=$SECONDS
rm -rf "$out/build" "$install" "$stamp_file"
mkdir -p "$out/build"
log="$out/build.log"
: >"$log"

level_no=0
for level in "${levels[@]}"; do
  [ -n "$level" ] || continue
  level_no=$((level_no + 1))
  ws="$out/build/level$level_no"
  mkdir -p "$ws"
  {
    echo "cmake_minimum_required(VERSION 3.16)"
    echo "project(interfaces_level$level_no NONE)"
    # C + Python only. rosidl_cmake is loaded once here, so the packages below inherit its
    # include guard and this wrapper, which drops the C++ generators that their dependencies
    # (std_msgs, action_msgs, ...) register when found.
    cat <<'CMAKE'
find_package(ament_cmake_core REQUIRED)
find_package(rosidl_cmake REQUIRED)
macro(rosidl_generate_interfaces)
  list(FILTER AMENT_EXTENSIONS_rosidl_generate_idl_interfaces EXCLUDE REGEX
    "^rosidl_(generator_cpp|typesupport_cpp|typesupport_introspection_cpp|typesupport_fastrtps_cpp):")
  _rosidl_generate_interfaces(${ARGN})
endmacro()
CMAKE
    for dir in $level; do echo "add_subdirectory(\"$dir\" \"$(basename "$dir")\")"; done
  } >"$ws/CMakeLists.txt"
  # Only the venv's packages (and what earlier levels installed): ament finds typesupports
  # through its resource index.
  if ! env -u PYTHONPATH AMENT_PREFIX_PATH="$install:$venv" CMAKE_PREFIX_PATH="$install:$venv" bash -c '
      set -e
      cmake -S "$1" -B "$1/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DCMAKE_INSTALL_PREFIX="$2" -DPython3_EXECUTABLE="$3"
      cmake --build "$1/build" -j "$(nproc)"
      cmake --install "$1/build"' _ "$ws" "$install" "$py" >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "build failed (full log: $log)"
  fi
done

# Smoke check with the same environment users get.
imports="$(printf '%s\n' "${levels[@]}" | xargs -n1 basename 2>/dev/null | sed 's/.*/import &.msg/' | paste -sd';')"
if ! (source "$root/scripts/interfaces_env.sh" && "$py" -c "$imports") >>"$log" 2>&1; then
  tail -n 10 "$log" >&2
  die "built, but the Python bindings do not import (log: $log)"
fi
echo "$stamp" > "$stamp_file"
echo "build_interfaces: done in $((SECONDS - start)) s -> build/interfaces/install"
