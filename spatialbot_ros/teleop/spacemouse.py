"""3Dconnexion SpaceMouse teleop through the optional `pyspacemouse` library (raw HID, no 3Dconnexion
driver), imported only in open() so nothing else depends on it.

The cap's six axes (x, y, z, roll, pitch, yaw, each -1..1) become linear and angular speeds in
TeleopConfig.frame; button 0 closes the gripper, button 1 opens it. The cap has no deadman: a
deflection beyond the deadband engages, letting go stops. pyspacemouse versions that offer an axis
convention are asked for the right-handed z-up one (x right, y away from the user, z up, rotations
about those axes); `axis_signs` flips axes to match how the device sits relative to the robot.
The pure mapping is `spacemouse_command` (spatialbot_ros.core.teleop), tested without a device.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Sequence
from types import ModuleType, TracebackType

from spatialbot_ros.core.teleop import TeleopCommand, TeleopConfig, TeleopEvent, spacemouse_command

__all__ = ["INSTALL_HINT", "SpaceMouseTeleop", "SpaceMouseUnavailable", "spacemouse_command"]

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "pip install pyspacemouse (it needs the hidapi library: sudo apt install libhidapi-hidraw0). "
    "On Linux give your user access to the device with a udev rule, e.g. "
    "echo 'SUBSYSTEM==\"hidraw\", ATTRS{idVendor}==\"256f\", MODE=\"0666\"' | "
    "sudo tee /etc/udev/rules.d/99-spacemouse.rules && sudo udevadm control --reload-rules && "
    "sudo udevadm trigger, then replug the SpaceMouse (older models use vendor id 046d)."
)


class SpaceMouseUnavailable(RuntimeError):
    """pyspacemouse is not installed or no SpaceMouse could be opened."""


class SpaceMouseTeleop:
    """Polls a SpaceMouse and returns TeleopCommands. Use as a context manager or open()/close()."""

    def __init__(
        self,
        cfg: TeleopConfig | None = None,
        device: str | None = None,
        axis_signs: Sequence[float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    ) -> None:
        self._cfg = cfg or TeleopConfig()
        self._device_name = device
        self._axis_signs = tuple(float(s) for s in axis_signs)
        if len(self._axis_signs) != 6:
            raise ValueError(f"axis_signs must have 6 values, got {len(self._axis_signs)}")
        self._lib: ModuleType | None = None
        self._dev: object | None = None
        self._lost = False

    def open(self) -> SpaceMouseTeleop:
        """Import pyspacemouse and open the first (or the named) SpaceMouse."""
        try:
            lib = importlib.import_module("pyspacemouse")
        except ImportError as exc:
            raise SpaceMouseUnavailable(f"the SpaceMouse needs the optional pyspacemouse library: {INSTALL_HINT}") from exc
        kwargs: dict[str, object] = {}
        if self._device_name is not None:
            kwargs["device"] = self._device_name
        convention = getattr(getattr(lib, "AxisConvention", None), "Z_UP", None)
        try:
            try:
                dev = lib.open(**kwargs, **({"axis_convention": convention} if convention is not None else {}))
            except TypeError:  # a version without axis_convention
                dev = lib.open(**kwargs)
        except Exception as exc:  # the library raises RuntimeError/OSError/HID errors by version
            raise SpaceMouseUnavailable(f"could not open a SpaceMouse ({exc}). {INSTALL_HINT}") from exc
        if not dev:  # pyspacemouse 1.x returns None when no device is found
            raise SpaceMouseUnavailable(f"no SpaceMouse found. {INSTALL_HINT}")
        self._lib, self._dev, self._lost = lib, dev, False
        return self

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is None:
            return
        try:
            closer = getattr(dev, "close", None) or getattr(self._lib, "close", None)
            if closer is not None:
                closer()
        except Exception as exc:  # closing an unplugged device can fail; nothing to recover
            log.warning("closing the SpaceMouse failed: %s", exc)

    def __enter__(self) -> SpaceMouseTeleop:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def poll(self, now_s: float) -> TeleopCommand:
        """Command of the cap's current deflection and buttons. A device that stops answering gives
        idle commands and one STOP event."""
        if self._dev is None:
            if self._lost:
                return TeleopCommand.idle(now_s, self._cfg.frame)
            raise RuntimeError("SpaceMouseTeleop.poll() before open(): use it as a context manager")
        try:
            reader = getattr(self._dev, "read", None) or self._lib.read  # 2.x device.read(), 1.x module read()
            state = reader()
            xyzrpy = [float(getattr(state, a)) for a in ("x", "y", "z", "roll", "pitch", "yaw")]
            buttons = [int(b) for b in getattr(state, "buttons", [])]
        except Exception as exc:  # unplugged mid-session: the operator's input is gone
            log.error("SpaceMouse read failed (%s): stopping", exc)
            self.close()
            self._lost = True
            return dataclasses.replace(TeleopCommand.idle(now_s, self._cfg.frame), events=(TeleopEvent.STOP,))
        return spacemouse_command(xyzrpy, buttons, now_s, self._cfg, self._axis_signs)

