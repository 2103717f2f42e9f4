"""pyrealsense2 to RGBDFrame, the way realsense2_camera publishes it: rgb8 colour, z16 depth in
millimetres aligned to the colour camera (rs.align), colour intrinsics.

`RealSenseCamera` streams from a physical device through rs.pipeline. `SoftwareRealSense` is a
librealsense software device: frames injected by the caller go through the same syncer and align
blocks, so everything downstream is exercised without a camera.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import COLOR_OPTICAL_FRAME, CameraIntrinsics, RGBDFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamConfig:
    width: int = 640
    height: int = 480
    fps: int = 30
    serial: str = ""
    frame_id: str = COLOR_OPTICAL_FRAME


def _rs():
    try:
        import pyrealsense2 as rs
    except ImportError as exc:  # libusb missing is the usual cause on a fresh Debian
        raise RuntimeError(f"pyrealsense2 unavailable ({exc}); apt install libusb-1.0-0") from exc
    return rs


def frameset_to_rgbd(frameset: object, align: object, frame_id: str = COLOR_OPTICAL_FRAME) -> RGBDFrame:
    """Align depth to colour and convert; millimetres whatever the device's depth scale."""
    aligned = align.process(frameset)  # type: ignore[attr-defined]
    depth, color = aligned.get_depth_frame(), aligned.get_color_frame()
    if not depth or not color:
        raise FrameError("realsense: frameset lacks depth or colour")
    intr = color.profile.as_video_stream_profile().intrinsics
    k = CameraIntrinsics(intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy)
    d = np.asanyarray(depth.get_data())
    units_m = depth.get_units() if hasattr(depth, "get_units") else 0.001
    if abs(units_m - 0.001) > 1e-9:
        d = np.clip(np.round(d.astype(np.float64) * units_m * 1000.0), 0, 65535)
    return RGBDFrame(np.ascontiguousarray(np.asanyarray(color.get_data())), d.astype(np.uint16, copy=False), k,
                     stamp_s=color.get_timestamp() * 1e-3, frame_id=frame_id)


class RealSenseCamera:
    """A physical D4xx through rs.pipeline (colour rgb8 + depth z16 at the same size and rate)."""

    def __init__(self, config: StreamConfig) -> None:
        rs = _rs()
        self.config = config
        cfg = rs.config()
        if config.serial:
            cfg.enable_device(config.serial)
        cfg.enable_stream(rs.stream.depth, config.width, config.height, rs.format.z16, config.fps)
        cfg.enable_stream(rs.stream.color, config.width, config.height, rs.format.rgb8, config.fps)
        self._pipe = rs.pipeline()
        self._pipe.start(cfg)
        self._align = rs.align(rs.stream.color)

    def read(self, timeout_ms: int = 2000) -> RGBDFrame:
        return frameset_to_rgbd(self._pipe.wait_for_frames(timeout_ms), self._align, self.config.frame_id)

    def close(self) -> None:
        self._pipe.stop()


class SoftwareRealSense:
    """librealsense software device: inject colour + depth, read synced and aligned frames."""

    def __init__(self, intrinsics: CameraIntrinsics, depth_to_color: np.ndarray | None = None,
                 frame_id: str = COLOR_OPTICAL_FRAME, fps: int = 30) -> None:
        rs = _rs()
        self.rs, self.k, self.frame_id = rs, intrinsics, frame_id
        intr = rs.intrinsics()
        intr.width, intr.height = intrinsics.width, intrinsics.height
        intr.fx, intr.fy, intr.ppx, intr.ppy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
        intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
        self._dev = rs.software_device()
        self._depth_sensor = self._dev.add_sensor("Depth")
        self._color_sensor = self._dev.add_sensor("Color")
        self._depth_profile = self._depth_sensor.add_video_stream(self._stream(rs.stream.depth, 0, 2, rs.format.z16, intr, fps))
        self._color_profile = self._color_sensor.add_video_stream(self._stream(rs.stream.color, 1, 3, rs.format.rgb8, intr, fps))
        self._depth_sensor.add_read_only_option(rs.option.depth_units, 0.001)
        ext = rs.extrinsics()
        T = np.eye(4) if depth_to_color is None else np.asarray(depth_to_color, float)
        ext.rotation = [float(v) for v in T[:3, :3].T.ravel()]  # librealsense stores column-major
        ext.translation = [float(v) for v in T[:3, 3]]
        self._depth_profile.register_extrinsics_to(self._color_profile, ext)
        self._dev.create_matcher(rs.matchers.default)
        self._sync = rs.syncer()
        self._depth_sensor.open(self._depth_profile)
        self._color_sensor.open(self._color_profile)
        self._depth_sensor.start(self._sync)
        self._color_sensor.start(self._sync)
        self._align = rs.align(rs.stream.color)
        self._n = 0

    def _stream(self, kind: object, uid: int, bpp: int, fmt: object, intr: object, fps: int) -> object:
        s = self.rs.video_stream()
        s.type, s.index, s.uid, s.bpp, s.fmt, s.fps = kind, 0, uid, bpp, fmt, fps
        s.width, s.height, s.intrinsics = self.k.width, self.k.height, intr
        return s

    def inject(self, color_rgb: np.ndarray, depth_mm: np.ndarray, stamp_s: float) -> None:
        """Push one colour + depth pair (depth in mm on the depth camera's pixel grid)."""
        rs = self.rs
        if color_rgb.shape != (self.k.height, self.k.width, 3) or depth_mm.shape != (self.k.height, self.k.width):
            raise FrameError("software realsense: image sizes do not match the configured stream")
        for sensor, profile, pixels, bpp in ((self._depth_sensor, self._depth_profile, depth_mm.astype(np.uint16), 2),
                                             (self._color_sensor, self._color_profile, color_rgb.astype(np.uint8), 3)):
            f = rs.software_video_frame()
            f.pixels, f.bpp, f.stride = np.ascontiguousarray(pixels), bpp, self.k.width * bpp
            f.timestamp, f.domain, f.frame_number = stamp_s * 1e3, rs.timestamp_domain.hardware_clock, self._n
            f.profile = profile.as_video_stream_profile()
            if bpp == 2:
                f.depth_units = 0.001
            sensor.on_video_frame(f)
        self._n += 1

    def read(self, timeout_ms: int = 1000) -> RGBDFrame:
        """The next synced pair with both streams, aligned to colour."""
        import time

        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            ok, fs = self._sync.try_wait_for_frames(50)
            if ok and fs.get_depth_frame() and fs.get_color_frame():
                return frameset_to_rgbd(fs, self._align, self.frame_id)
        raise FrameError(f"software realsense: no synced colour+depth pair within {timeout_ms} ms")
