# Sourced by scripts/demo and scripts/test: runtime environment for MuJoCo and Fast DDS.
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# Fast DDS profile (= spatialbot_ros.dds_env): shared memory with room for whole RGB-D frames, UDPv4, no TCP
_spatialbot_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FASTRTPS_DEFAULT_PROFILES_FILE="${FASTRTPS_DEFAULT_PROFILES_FILE:-$_spatialbot_root/config/fastdds.xml}"
export FASTDDS_DEFAULT_PROFILES_FILE="${FASTDDS_DEFAULT_PROFILES_FILE:-$_spatialbot_root/config/fastdds.xml}"
# console scripts land in .venv/lib/spatialbot_ros (the ament layout setup.cfg asks for)
export PATH="$PWD/.venv/bin:$PWD/.venv/lib/spatialbot_ros:$PATH"
# the typed interfaces built by scripts/build_interfaces.sh (PYTHONPATH, LD_LIBRARY_PATH, AMENT_PREFIX_PATH)
# shellcheck source=scripts/interfaces_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/interfaces_env.sh"
