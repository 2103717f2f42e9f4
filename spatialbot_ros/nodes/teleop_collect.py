"""teleop_collect: the pick_place executive set up for teleop-assisted collection (docs/teleop.md).

The policy runs each goal; an operator on geometry_msgs/Twist (`teleop.twist_topic`, /cmd_vel) or
sensor_msgs/Joy with a deadman button (`teleop.joy_topic`, /joy) takes over at any time through the same
safety gate and hands back; every goal becomes one episode of a LeRobot v3 dataset in `collect.dir`
(with `collect.rosbag`, also an MCAP bag). It is pick_place with teleop on and a dataset directory
required: the recording lives in the executive's loop, so every executed and proposed action and every
intervention flag is written from the step that produced it, and nothing is lost between processes.
Same parameters (config/pick_place_sim.yaml or config/pick_place.yaml), same topics and services."""

from __future__ import annotations

from typing import Any

from spatialbot_ros.nodes.pick_place import PARAMS, PickPlaceNode
from spatialbot_ros.nodes.runner import run_node, spin_multithreaded

__all__ = ["PARAMS", "COLLECT_DEFAULTS", "TeleopCollectNode", "main"]
COLLECT_DEFAULTS: dict[str, Any] = {"teleop.enabled": True, "collect.dir": "collect"}


class TeleopCollectNode(PickPlaceNode):
    def __init__(self, **kwargs: object) -> None:
        super().__init__("teleop_collect", COLLECT_DEFAULTS, **kwargs)
        p = self.p
        inputs = ", ".join(t for t in (p["teleop.twist_topic"], p["teleop.twist_stamped_topic"], p["teleop.joy_topic"]) if t)
        self.get_logger().info(f"teleop_collect: recording every goal to {p['collect.dir']}"
                               f"{' (+ rosbag)' if p['collect.rosbag'] else ''}; operator input on {inputs}")

    def validate_start(self, p: dict[str, Any]) -> None:
        super().validate_start(p)
        if not str(p["collect.dir"]).strip():
            raise ValueError("teleop_collect records every goal: collect.dir must name a dataset directory")
        if not p["teleop.enabled"]:
            raise ValueError("teleop_collect is for teleop-assisted collection: teleop.enabled must be true "
                             "(to record autonomous runs only, run pick_place with collect.dir)")
        if not any(p[k] for k in ("teleop.twist_topic", "teleop.twist_stamped_topic", "teleop.joy_topic")):
            raise ValueError("teleop_collect: no operator input (teleop.twist_topic, teleop.twist_stamped_topic "
                             "and teleop.joy_topic are all empty)")


def main(args: list[str] | None = None) -> None:
    run_node(TeleopCollectNode, args, spin=spin_multithreaded)


if __name__ == "__main__":
    main()
