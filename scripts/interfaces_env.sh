# Sourced: puts the interface packages scripts/build_interfaces.sh built (spatialbot_interfaces and,
# without a system ROS, control_msgs and tf2_msgs) on the Python, library and ament search paths.
# LD_LIBRARY_PATH must be set before Python starts, hence a shell script.
# Does nothing when nothing is built; sourcing twice adds nothing twice.
_sbi_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_sbi_install="$_sbi_root/build/interfaces/install"
_sbi_prepend() {  # _sbi_prepend VAR DIR
  case ":${!1:-}:" in
    *":$2:"*) ;;
    *) export "$1=$2${!1:+:${!1}}" ;;
  esac
}
if [ -d "$_sbi_install/lib" ]; then
  for _sbi_site in "$_sbi_install"/lib/python3*/site-packages; do
    [ -d "$_sbi_site" ] && _sbi_prepend PYTHONPATH "$_sbi_site"
  done
  _sbi_prepend LD_LIBRARY_PATH "$_sbi_install/lib"
  # keep the venv's ROS packages findable through ament_index too
  _sbi_venv="${VIRTUAL_ENV:-$_sbi_root/.venv}"
  [ -z "${AMENT_PREFIX_PATH:-}" ] && [ -d "$_sbi_venv/share/ament_index" ] && export AMENT_PREFIX_PATH="$_sbi_venv"
  _sbi_prepend AMENT_PREFIX_PATH "$_sbi_install"
fi
unset -f _sbi_prepend
unset _sbi_root _sbi_install _sbi_site _sbi_venv
