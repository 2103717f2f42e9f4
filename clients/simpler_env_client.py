"""A SimplerEnv policy that asks `spatialbot-ros serve-policy` for each action over HTTP.

SimplerEnv pins numpy < 2 and SAPIEN 2, so it cannot import spatialbot_ros; this file needs only
numpy and the standard library (Python 3.8+). To use it in a SimplerEnv checkout:

1. On the machine with spatialbot_ros: `spatialbot-ros serve-policy --policy geometric
   --policy-setup widowx_bridge --port 8000` (--host 0.0.0.0 to accept other machines).
2. Copy this file into the checkout (e.g. simpler_env/policies/spatialbot/spatialbot_client.py) and
   in simpler_env/main_inference.py build the model like the other policies:
       model = SpatialBotServerInference("http://127.0.0.1:8000", policy_setup=args.policy_setup)
3. Our policies need depth and the camera: SimplerEnv's evaluator passes only the image, so in
   evaluation/maniskill2_evaluator.py call
       model.step(image, task_description, **maniskill2_observation(obs, obs_camera_name))
   (build the env with obs_mode="rgbd", as the evaluator does). maniskill2_observation reads
   ManiSkill2's observation layout; it was not run against SimplerEnv here, check it on your version.

Requests follow OpenVLA's deploy script: POST /act with the arrays as json_numpy objects.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def encode_array(arr: np.ndarray) -> dict[str, Any]:
    """json_numpy's object form: {"__numpy__": base64 of the C-order bytes, "dtype": descr, "shape"}."""
    arr = np.ascontiguousarray(arr)
    return {"__numpy__": base64.b64encode(arr.tobytes()).decode("ascii"),
            "dtype": np.lib.format.dtype_to_descr(arr.dtype), "shape": list(arr.shape)}


class ServerError(RuntimeError):
    """The server refused the request (400/413/500): its message says why."""


def _pose_from_p_q(p_q: np.ndarray) -> np.ndarray:
    """4x4 from ManiSkill's 7-vector pose (x, y, z, qw, qx, qy, qz)."""
    p, (w, x, y, z) = np.asarray(p_q[:3], float), np.asarray(p_q[3:7], float) / np.linalg.norm(p_q[3:7])
    T = np.eye(4)
    T[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    T[:3, 3] = p
    return T


def maniskill2_observation(obs: dict[str, Any], camera_name: str) -> dict[str, Any]:
    """step() keyword arguments from a ManiSkill2 (SimplerEnv) "rgbd" observation: depth in mm,
    the camera's intrinsic_cv, base_from_camera (from extrinsic_cv and the agent's base pose).
    Not run here (no SimplerEnv install): verify the keys against your ManiSkill2_real2sim."""
    cam = obs["camera_param"][camera_name]
    depth_m = np.asarray(obs["image"][camera_name]["depth"], float)[..., 0]
    camera_from_world = np.asarray(cam["extrinsic_cv"], float)  # OpenCV convention, 3x4 or 4x4
    if camera_from_world.shape == (3, 4):
        camera_from_world = np.vstack([camera_from_world, [0.0, 0.0, 0.0, 1.0]])
    world_from_camera = np.linalg.inv(camera_from_world)
    base_from_world = np.linalg.inv(_pose_from_p_q(np.asarray(obs["agent"]["base_pose"], float)))
    return {"depth_mm": (depth_m * 1000.0).astype(np.float32), "intrinsics": np.asarray(cam["intrinsic_cv"], float),
            "base_from_camera": base_from_world @ world_from_camera}


class SpatialBotServerInference:
    """Shaped like SimplerEnv's policies (reset / step / visualize_epoch); the policy runs in serve-policy."""

    def __init__(self, server_url: str = "http://127.0.0.1:8000", policy_setup: str = "widowx_bridge",
                 timeout_s: float = 60.0, action_scale: float = 1.0) -> None:
        """policy_setup must match the server's --policy-setup (the server applies the gripper
        convention); it is checked on the first step."""
        self.url = server_url.rstrip("/") + "/act"
        self.info_url = server_url.rstrip("/") + "/health"
        self.policy_setup = policy_setup
        self.timeout_s = timeout_s
        self.action_scale = action_scale
        self.task_description: str | None = None
        self._reset_pending = True
        self._checked = False

    def reset(self, task_description: str) -> None:
        self.task_description = task_description
        self._reset_pending = True

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(payload).encode()
        req = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", "")
            except ValueError:
                message = ""
            raise ServerError(f"serve-policy answered {exc.code}: {message or exc.reason}") from None

    def _check_setup(self) -> None:
        with urllib.request.urlopen(self.info_url, timeout=self.timeout_s) as resp:
            info = json.loads(resp.read())
        if info.get("policy_setup") != self.policy_setup:
            raise ServerError(f"server runs policy_setup {info.get('policy_setup')!r}, this client "
                              f"{self.policy_setup!r}: restart serve-policy with --policy-setup {self.policy_setup}")
        self._checked = True

    def step(self, image: np.ndarray, task_description: str | None = None, depth_mm: np.ndarray | None = None,
             intrinsics: Any = None, base_from_camera: np.ndarray | None = None,
             tcp_pose_base: np.ndarray | None = None,
             gripper_width_m: float | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(raw_action, action) as SimplerEnv's evaluator expects; raises ServerError when refused."""
        if not self._checked:
            self._check_setup()
        if task_description is not None and task_description != self.task_description:
            self.reset(task_description)
        payload: dict[str, Any] = {"image": encode_array(np.asarray(image, np.uint8)),
                                   "instruction": self.task_description, "reset": self._reset_pending}
        for key, value in (("depth_mm", depth_mm), ("base_from_camera", base_from_camera),
                           ("tcp_pose_base", tcp_pose_base)):
            if value is not None:
                payload[key] = encode_array(np.asarray(value))
        if intrinsics is not None:
            payload["intrinsics"] = (dict(intrinsics) if isinstance(intrinsics, dict)
                                     else encode_array(np.asarray(intrinsics, float)))
        if gripper_width_m is not None:
            payload["gripper_width_m"] = float(gripper_width_m)
        answer = self._post(payload)
        self._reset_pending = False
        action = {k: np.asarray(answer[k], dtype=np.float64)
                  for k in ("world_vector", "rot_axangle", "gripper", "terminate_episode")}
        action["world_vector"] = action["world_vector"] * self.action_scale
        action["rot_axangle"] = action["rot_axangle"] * self.action_scale
        raw = {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in answer.get("raw", {}).items()}
        return raw, action

    def visualize_epoch(self, predicted_raw_actions: Sequence[dict[str, Any]], images: Sequence[np.ndarray],
                        save_path: str) -> None:
        """The seven action dimensions over time (matplotlib, which SimplerEnv installs); the
        server's adapter draws the full figure with the image strip."""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log.warning("matplotlib missing: no action plot written to %s", save_path)
            return
        labels = ["x", "y", "z", "roll", "pitch", "yaw", "grasp"]
        values = np.array([np.concatenate([a["world_vector"], a["rotation_delta"], a["open_gripper"]])
                           for a in predicted_raw_actions]).reshape(-1, 7)
        fig, axs = plt.subplots(1, 7, figsize=(28, 4))
        for i, label in enumerate(labels):
            axs[i].plot(values[:, i])
            axs[i].set_title(label)
        fig.savefig(save_path)
        plt.close(fig)
