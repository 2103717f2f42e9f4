# Sourced by scripts/demo and scripts/test: runtime environment for MuJoCo and Fast DDS.
export MUJOCO_GL="${MUJOCO_GL:-egl}"
export PYOPENGL_PLATFORM="${PYOPENGL_PLATFORM:-egl}"
export RMW_IMPLEMENTATION="${RMW_IMPLEMENTATION:-rmw_fastrtps_cpp}"
export FASTDDS_BUILTIN_TRANSPORTS="${FASTDDS_BUILTIN_TRANSPORTS:-LARGE_DATA}"
# console scripts land in .venv/lib/spatialbot_ros (the ament layout setup.cfg asks for)
export PATH="$PWD/.venv/bin:$PWD/.venv/lib/spatialbot_ros:$PATH"
