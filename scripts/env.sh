# Sourced by scripts/demo and scripts/test: runtime environment for MuJoCo and Fast DDS.
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
# = spatialbot_ros.graph_up.DDS_TRANSPORTS: whole 640x480 frames at 30 Hz without losses
export FASTDDS_BUILTIN_TRANSPORTS="${FASTDDS_BUILTIN_TRANSPORTS:-LARGE_DATA?max_msg_size=2MB&sockets_size=16MB}"
# console scripts land in .venv/lib/spatialbot_ros (the ament layout setup.cfg asks for)
export PATH="$PWD/.venv/bin:$PWD/.venv/lib/spatialbot_ros:$PATH"
# the typed interfaces built by scripts/build_interfaces.sh (PYTHONPATH, LD_LIBRARY_PATH, AMENT_PREFIX_PATH)
# shellcheck source=scripts/interfaces_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/interfaces_env.sh"
