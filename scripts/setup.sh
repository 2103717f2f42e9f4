#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Python 3.11:
# Debian packages (EGL/Mesa for MuJoCo rendering, libusb for pyrealsense2, cmake/g++/python3-dev for
# the typed ROS interfaces), a venv in .venv, pinned requirements, the package itself (editable), and
# the spatialbot_interfaces package built against the ROS wheels (scripts/build_interfaces.sh). A second run with nothing changed
# only checks stamps and returns in a few seconds.
# Usage: scripts/setup.sh [base|test|learn|maniskill|maniskill-planner]
# (test = learn + ray + the test tools, and the maniskill venv unless SPATIALBOT_NO_MANISKILL=1)
# The two ManiSkill3 profiles (optional) build venvs of their own, never .venv: `maniskill`
# (MANISKILL_VENV, default .venv-maniskill: torch CPU, sapien, mani-skill, our package) and
# `maniskill-planner` (MANISKILL_PLANNER_VENV, default .venv-maniskill-planner: the same with
# numpy < 2 for mplib 0.1.1, which segfaults under numpy 2). Both need Mesa's Vulkan driver from
# bookworm-backports (SAPIEN 3 finds no Vulkan device with bookworm's Mesa 22.3).
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-base}"
req="requirements/${profile}.txt"
[ -f "$req" ] || { echo "setup: unknown profile '$profile' (no $req)" >&2; exit 2; }

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

# Mesa >= 25 from bookworm-backports (lavapipe, the CPU Vulkan driver SAPIEN renders with). The
# install also upgrades the EGL/GL Mesa libraries MuJoCo renders with; the sources entry is ours.
maniskill_apt() {
  local want_major=25 have
  have=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ -n "$have" ] && [ "${have%%.*}" -ge "$want_major" ] 2>/dev/null \
     && dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "install ok installed"; then
    return 0
  fi
  local src=/etc/apt/sources.list.d/spatialbot-bookworm-backports.sources
  if [ ! -f "$src" ]; then
    echo "setup: adding $src"
    printf '%s\n' "# written by spatialbot_ros scripts/setup.sh maniskill: Mesa 25 (Vulkan lavapipe) for SAPIEN 3" \
      "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm-backports" "Components: main" \
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" | $sudo_cmd tee "$src" >/dev/null
  fi
  echo "setup: installing mesa-vulkan-drivers from bookworm-backports (have: ${have:-none})"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    -t bookworm-backports mesa-vulkan-drivers libvulkan1 libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libglx-mesa0
}

# A venv of its own: torch pinned to the CPU build first (an unpinned torch pulls a CUDA build of
# several GB), then the pinned requirements, then our package (editable, no deps).
maniskill_venv() {
  local venv="$1" stamp_file stamp py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null || py=python3
  [ -x "$venv/bin/python" ] || { echo "setup: creating $venv with $py"; "$py" -m venv "$venv"; }
  stamp_file="$venv/.spatialbot_${profile}.stamp"
  stamp=$(cat "$req" requirements/maniskill*.txt setup.py setup.cfg | sha256sum | cut -d' ' -f1)
  [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ] && return 0
  local pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  local torch_pin
  torch_pin=$(grep -E '^torch==' "$req" | cut -d' ' -f1)
  # the package first, with the setuptools that accepts ament's setup.cfg (as the base profile)
  "${pip[@]}" setuptools==69.5.1 wheel==0.45.1
  "${pip[@]}" --no-deps --no-build-isolation -e .
  echo "setup: $venv: $torch_pin (CPU) first"
  "${pip[@]}" "$torch_pin" setuptools==84.2.1
  echo "setup: $venv: pinned requirements ($req)"
  "${pip[@]}" -r "$req"
  echo "$stamp" > "$stamp_file"
}

case "$profile" in
  maniskill|maniskill-planner)
    t0=$SECONDS
    maniskill_apt
    echo "setup: apt step took $((SECONDS - t0)) s"
    if [ "$profile" = maniskill ]; then venv="${MANISKILL_VENV:-.venv-maniskill}"
    else venv="${MANISKILL_PLANNER_VENV:-.venv-maniskill-planner}"; fi
    t1=$SECONDS
    maniskill_venv "$venv"
    echo "setup: $profile venv ($venv) took $((SECONDS - t1)) s; total $((SECONDS - t0)) s"
    exit 0
    ;;
esac

apt_pkgs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libusb-1.0-0 cmake g++ python3-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi

stamp_file=".venv/.spatialbot_${profile}.stamp"
stamp=$(cat requirements/*.txt setup.py setup.cfg | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  echo "setup: installing pinned requirements ($req)"
  # the package first, with the setuptools that accepts ament's setup.cfg [develop] options;
  # the requirements then bring the newer setuptools torch needs
  .venv/bin/python -m pip install -q --disable-pip-version-check setuptools==69.5.1 wheel==0.45.1
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  echo "$stamp" > "$stamp_file"
fi

# the typed interfaces (msg/srv/action); without them the nodes still run, over JSON topics only
if ! scripts/build_interfaces.sh .venv; then
  if [ "$profile" = "test" ]; then
    echo "setup: building spatialbot_interfaces failed" >&2
    exit 1
  fi
  echo "setup: WARNING: spatialbot_interfaces did not build; nodes will offer their JSON topic interfaces only" >&2
fi

# The test profile keeps the ManiSkill3 integration alive: its smoke test (StackCube episodes through the
# real simulator) runs in .venv-maniskill, so the test profile builds it too (Mesa 25 from
# bookworm-backports, ~95 s with the pip cache the .venv install just filled).
# SPATIALBOT_NO_MANISKILL=1 leaves it out (the ManiSkill tests then skip, saying why).
if [ "$profile" = "test" ] && [ "${SPATIALBOT_NO_MANISKILL:-0}" != 1 ]; then
  scripts/setup.sh maniskill
fi
