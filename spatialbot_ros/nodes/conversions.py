"""sensor_msgs <-> core types, with numpy and msg.step (no cv_bridge: it breaks on NumPy 2).

Encodings accepted as realsense2_camera and other drivers publish them: colour rgb8 / bgr8,
depth 16UC1 / mono16 (millimetres) or 32FC1 (metres, converted to mm)."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from spatialbot_ros.core.errors import FrameError
from spatialbot_ros.core.frame import CameraIntrinsics, RGBDFrame
from spatialbot_ros.core.timestamps import split_seconds


def stamp_to_s(stamp: object) -> float:
    return float(stamp.sec) + float(stamp.nanosec) * 1e-9  # type: ignore[attr-defined]


def s_to_stamp(t: float) -> object:
    from builtin_interfaces.msg import Time

    sec, nanosec = split_seconds(t)
    return Time(sec=sec, nanosec=nanosec)


def image_to_array(msg: Image) -> np.ndarray:
    """Image -> HxW or HxWxC array honouring msg.step (row padding) and endianness."""
    dtypes = {"rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "mono8": (np.uint8, 1), "16UC1": (np.uint16, 1),
              "mono16": (np.uint16, 1), "32FC1": (np.float32, 1)}
    if msg.encoding not in dtypes:
        raise FrameError(f"unsupported image encoding '{msg.encoding}'; expected one of {', '.join(dtypes)}")
    dtype, ch = dtypes[msg.encoding]
    itemsize = np.dtype(dtype).itemsize
    if msg.step < msg.width * ch * itemsize or len(msg.data) < msg.step * msg.height:
        raise FrameError(f"image {msg.width}x{msg.height} {msg.encoding}: step {msg.step} / {len(msg.data)} bytes "
                         "are too small")
    raw = np.frombuffer(bytes(msg.data), dtype=np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    arr = raw[:, : msg.width * ch * itemsize].copy().view(np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<"))
    arr = arr.reshape(msg.height, msg.width, ch).astype(dtype, copy=False)
    return arr[..., 0] if ch == 1 else arr


def array_to_image(arr: np.ndarray, encoding: str, stamp: object, frame_id: str) -> Image:
    msg = Image()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.height, msg.width = int(arr.shape[0]), int(arr.shape[1])
    msg.encoding, msg.is_bigendian = encoding, 0
    a = np.ascontiguousarray(arr)
    msg.step = int(a.strides[0])
    msg.data = a.tobytes()
    return msg


def intrinsics_to_camera_info(k: CameraIntrinsics, stamp: object, frame_id: str) -> CameraInfo:
    msg = CameraInfo()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    msg.width, msg.height = k.width, k.height
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def camera_info_to_intrinsics(msg: CameraInfo) -> CameraIntrinsics:
    K = list(msg.k)
    return CameraIntrinsics(int(msg.width), int(msg.height), float(K[0]), float(K[4]), float(K[2]), float(K[5]))


def rgbd_to_msgs(frame: RGBDFrame, stamp: object | None = None) -> tuple[Image, Image, CameraInfo]:
    """(colour rgb8, aligned depth 16UC1 mm, camera info), all in the colour optical frame."""
    stamp = stamp if stamp is not None else s_to_stamp(frame.stamp_s)
    return (array_to_image(frame.color_rgb, "rgb8", stamp, frame.frame_id),
            array_to_image(frame.depth_mm, "16UC1", stamp, frame.frame_id),
            intrinsics_to_camera_info(frame.intrinsics, stamp, frame.frame_id))


def msgs_to_rgbd(color: Image, depth: Image, info: CameraInfo) -> RGBDFrame:
    """Validated RGBDFrame; bgr8 is swapped to RGB, 32FC1 metres become uint16 mm (NaN/inf -> 0)."""
    c = image_to_array(color)
    if color.encoding == "bgr8":
        c = c[..., ::-1].copy()
    elif color.encoding != "rgb8":
        raise FrameError(f"colour must be rgb8 or bgr8, got {color.encoding}")
    d = image_to_array(depth)
    if depth.encoding == "32FC1":
        d = np.where(np.isfinite(d) & (d > 0), np.round(d * 1000.0), 0).clip(0, 65535).astype(np.uint16)
    elif depth.encoding not in ("16UC1", "mono16"):
        raise FrameError(f"depth must be 16UC1/mono16 millimetres or 32FC1 metres, got {depth.encoding}")
    if color.header.frame_id and depth.header.frame_id and color.header.frame_id != depth.header.frame_id:
        raise FrameError(f"depth is in '{depth.header.frame_id}', colour in '{color.header.frame_id}': "
                         "subscribe to the aligned depth topic")
    return RGBDFrame(c, d, camera_info_to_intrinsics(info), stamp_s=stamp_to_s(color.header.stamp),
                     frame_id=color.header.frame_id or "camera_color_optical_frame")
