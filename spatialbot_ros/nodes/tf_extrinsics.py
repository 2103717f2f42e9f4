"""Camera extrinsics from TF, where tf2 exists (a ROS install: tf2_ros has no PyPI wheel).

With `extrinsics_from_tf` a node takes base_from_camera from whatever publishes it (a calibration
publisher, the robot description with the camera mount) instead of its parameters; without tf2 it
says so and keeps the parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from spatialbot_ros.core.transforms import pose_from_xyz_quat


class TfExtrinsics:
    def __init__(self, node: Any, parent_frame: str, child_frame: str) -> None:
        self.node, self.parent_frame, self.child_frame = node, parent_frame, child_frame
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError:
            self._buffer = None
            node.get_logger().warning("extrinsics_from_tf: tf2_ros is not installed; using the camera_extrinsics "
                                      "parameters")
            return
        self._buffer = Buffer()
        self._listener = TransformListener(self._buffer, node)

    @property
    def available(self) -> bool:
        return self._buffer is not None

    def lookup(self, timeout_s: float = 1.0) -> np.ndarray | None:
        """parent_from_child now, or None when TF does not have it (the caller keeps what it has)."""
        if self._buffer is None:
            return None
        from rclpy.duration import Duration
        from rclpy.time import Time

        try:
            t = self._buffer.lookup_transform(self.parent_frame, self.child_frame, Time(),
                                              timeout=Duration(seconds=timeout_s)).transform
        except Exception as exc:  # noqa: BLE001 - tf2's lookup, connectivity and extrapolation errors alike
            self.node.get_logger().warning(f"extrinsics_from_tf: {self.parent_frame} -> {self.child_frame}: {exc}",
                                           throttle_duration_sec=5.0)
            return None
        return pose_from_xyz_quat([t.translation.x, t.translation.y, t.translation.z],
                                  [t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w])
