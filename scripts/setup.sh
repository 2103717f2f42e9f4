#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Python 3.11:
# Debian packages (EGL/Mesa for MuJoCo rendering, libusb for pyrealsense2, cmake/g++/python3-dev for
# the typed ROS interfaces), a venv in .venv, pinned requirements, the package itself (editable), and
# the spatialbot_interfaces package built against the ROS wheels (scripts/build_interfaces.sh). A second run with nothing changed
# only checks stamps and returns in a few seconds.
# Usage: scripts/setup.sh [base|test]
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-base}"
req="requirements/${profile}.txt"
[ -f "$req" ] || { echo "setup: unknown profile '$profile' (no $req)" >&2; exit 2; }

apt_pkgs=(libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 libusb-1.0-0 cmake g++ python3-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
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
