"""Child process for the SIGKILL trials of the LeRobot writer: appends tiny, deterministic
episodes to a dataset (resuming it) until killed. Usage: kill_writer_child.py OUT MAX_EPISODES"""

from __future__ import annotations

import sys

import numpy as np

from spatialbot_ros.datasets.lerobot_v3 import Feature, LeRobotV3Writer

FEATURES = {
    "observation.images.color": Feature("video", (16, 16, 3)),
    "observation.images.depth": Feature("depth_video", (16, 16)),
    "observation.state": Feature("float32", (3,)),
}


def episode(i: int) -> dict[str, np.ndarray]:
    """Episode i's frames, the same every time (the parent checks them after a kill)."""
    rng = np.random.default_rng(i)
    n = 2 + i % 4
    return {"observation.images.color": np.full((n, 16, 16, 3), (i * 37) % 256, np.uint8),
            "observation.images.depth": rng.integers(0, 5000, (n, 16, 16), dtype=np.uint16),
            "observation.state": rng.normal(size=(n, 3)).astype(np.float32)}


def main(out: str, max_episodes: int) -> None:
    w = LeRobotV3Writer(out, 10, FEATURES, resume=True)
    for i in range(w.episodes_written, max_episodes):
        w.add_episode(episode(i), f"task {i % 3}", {"seed": i})
    w.finalize()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
