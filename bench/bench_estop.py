"""E-stop -> standstill on the emulated real cell, over DDS between processes, vs the driver alone.

`spatialbot-ros up cell-emulated` (UR driver emulator + spatial_policy + pick_place, pick_place's
speed_scale from a temporary parameter file) runs as its own processes. Each trial arms
pick_place, sends a pick-and-place goal, waits until the arm moves (a joint faster than
--moving-rad-s: stopping an arm that barely moves says little), waits a seeded random delay and
until it moves that fast again, then publishes std_msgs/Bool true on the e-stop topic the way
`ros2 topic pub --once` does (a fresh reliable + volatile publisher, published once it matches;
rclpy warns that pick_place's second, transient-local e-stop subscription cannot match it, as it
would for `ros2 topic pub`) and records the publish time. The arm is
at standstill at the first /joint_states sample from which every arm joint speed stays below
--still-rad-s and every position within --settle-rad for --settle-s. Times come from the joint
state header stamps (the emulator stamps each sample with the wall clock of its physics step, on
this machine's clock), so they measure when the arm stopped, not when the message arrived; the
receipt-time figure is printed beside it. TCP travel is the path length of the TCP (UR5 FK with
the 0.128 m Robotiq TCP offset) from the last sample before the stop command to standstill.
Every goal must end with failure_reason estop; then the e-stop is reset and the arm re-armed.

Baseline, same run, after the e-stop trials on a fresh cell: FollowJointTrajectory goals sent
straight to the emulator's trajectory controller (positions only, so the fastest joint moves at a
constant speed: the e-stop trials' median joint speed at the stop) and cancelled at a seeded random
moment: cancel -> standstill of the driver alone. The cell has no scene reset, so a goal that fails
for another reason than the e-stop (a cup dropped at an earlier stop, a pose pick_place will not
plan from) is noted and retried on a freshly started graph.
Run: `python bench/bench_estop.py [--trials 20] [--quick]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger("bench_estop")

INSTRUCTIONS = ("pick the middle cup and put it on the plate",
                "pick the red cup and put it on the plate",
                "pick the blue cup and put it on the plate")


@dataclass(frozen=True)
class JointSample:
    stamp_s: float  # header stamp (emulator physics time = wall clock)
    received_s: float  # time.time() when this process took it
    q: np.ndarray  # arm joints, UR order
    v: np.ndarray


@dataclass(frozen=True)
class StopCriteria:
    moving_rad_s: float = 0.05  # any arm joint faster than this: the arm is moving (a stop lands only then)
    still_rad_s: float = 0.01  # every arm joint slower than this ...
    settle_rad: float = 5e-4  # ... and within this of the standstill position ...
    settle_s: float = 0.1  # ... for this long: standstill


@dataclass
class StopTrial:
    kind: str  # "estop" or "baseline"
    stop_to_standstill_ms: float  # command sent -> first standstill sample (stamps)
    stop_to_standstill_received_ms: float  # the same by receipt time of that sample
    tcp_travel_mm: float  # TCP path length after the command
    joint_speed_at_stop_rad_s: float  # fastest arm joint when the command was sent
    tcp_speed_at_stop_m_s: float
    ack_ms: float = float("nan")  # command sent -> its acknowledgement received (e-stop state / cancel response)


def is_moving(s: JointSample, c: StopCriteria) -> bool:
    return bool(np.max(np.abs(s.v)) > c.moving_rad_s)


def find_standstill(samples: Sequence[JointSample], after_s: float, c: StopCriteria) -> int | None:
    """Index of the first sample stamped at/after after_s from which the arm stays still (speeds
    below still_rad_s, positions within settle_rad) for settle_s; None if not (yet) seen. A window
    needs samples reaching settle_s past its start, so a standstill is only found once proven."""
    idx = [i for i, s in enumerate(samples) if s.stamp_s >= after_s]
    for k, i in enumerate(idx):
        start = samples[i]
        ok, covered = True, False
        for j in idx[k:]:
            s = samples[j]
            if np.max(np.abs(s.v)) >= c.still_rad_s or np.max(np.abs(s.q - start.q)) > c.settle_rad:
                ok = False
                break
            if s.stamp_s - start.stamp_s >= c.settle_s:
                covered = True
                break
        if ok and covered:
            return i
        if ok and not covered:
            return None  # still inside a candidate window: wait for more samples
    return None


def tcp_path_mm(samples: Sequence[JointSample], tcp_xyz: Callable[[np.ndarray], np.ndarray]) -> float:
    """TCP path length through the samples (mm)."""
    pts = np.array([tcp_xyz(s.q) for s in samples])
    return float(np.sum(np.linalg.norm(np.diff(pts, axis=0), axis=1)) * 1e3) if len(pts) > 1 else 0.0


def measure_stop(samples: Sequence[JointSample], t_cmd_s: float, c: StopCriteria,
                 tcp_xyz: Callable[[np.ndarray], np.ndarray], kind: str) -> StopTrial | None:
    """The trial's figures from the joint samples around a stop command sent at t_cmd_s."""
    i_stop = find_standstill(samples, t_cmd_s, c)
    if i_stop is None:
        return None
    before = [i for i, s in enumerate(samples) if s.stamp_s <= t_cmd_s]
    i0 = before[-1] if before else 0
    s0 = samples[i0]
    tcp_speed = 0.0
    if i0 > 0:
        dt = s0.stamp_s - samples[i0 - 1].stamp_s
        if dt > 0:
            tcp_speed = float(np.linalg.norm(tcp_xyz(s0.q) - tcp_xyz(samples[i0 - 1].q)) / dt)
    return StopTrial(kind, (samples[i_stop].stamp_s - t_cmd_s) * 1e3, (samples[i_stop].received_s - t_cmd_s) * 1e3,
                     tcp_path_mm(samples[i0:i_stop + 1], tcp_xyz), float(np.max(np.abs(s0.v))), tcp_speed)


@dataclass
class Summary:
    n: int
    median_ms: float
    p90_ms: float
    max_ms: float
    median_received_ms: float
    median_travel_mm: float
    max_travel_mm: float
    median_joint_speed: float
    median_tcp_speed: float
    median_ack_ms: float
    max_ack_ms: float


def summarise(trials: Sequence[StopTrial]) -> Summary:
    ms = [t.stop_to_standstill_ms for t in trials]
    travel = [t.tcp_travel_mm for t in trials]
    return Summary(len(trials), statistics.median(ms), float(np.percentile(ms, 90)), max(ms),
                   statistics.median(t.stop_to_standstill_received_ms for t in trials),
                   statistics.median(travel), max(travel),
                   statistics.median(t.joint_speed_at_stop_rad_s for t in trials),
                   statistics.median(t.tcp_speed_at_stop_m_s for t in trials),
                   float(np.nanmedian([t.ack_ms for t in trials])), float(np.nanmax([t.ack_ms for t in trials])))


def format_table(estop: Sequence[StopTrial], baseline: Sequence[StopTrial], retries: Sequence[str],
                 target_ms: float) -> str:
    rows = [f"{'stop command -> standstill':32s} {'trials':>6s} {'median ms':>9s} {'p90 ms':>7s} {'max ms':>7s} "
            f"{'recv med':>8s} {'TCP mm med':>10s} {'TCP mm max':>10s} {'rad/s':>6s} {'TCP m/s':>7s} "
            f"{'ack med':>7s} {'ack max':>7s}"]
    sums = {}
    for label, trials in (("e-stop via pick_place (DDS)", estop), ("baseline: FJT cancel, driver", baseline)):
        if not trials:
            rows.append(f"{label:32s} {0:6d}  (no trials completed)")
            continue
        s = sums[label] = summarise(trials)
        rows.append(f"{label:32s} {s.n:6d} {s.median_ms:9.1f} {s.p90_ms:7.1f} {s.max_ms:7.1f} {s.median_received_ms:8.1f} "
                    f"{s.median_travel_mm:10.1f} {s.max_travel_mm:10.1f} {s.median_joint_speed:6.2f} "
                    f"{s.median_tcp_speed:7.3f} {s.median_ack_ms:7.1f} {s.max_ack_ms:7.1f}")
    if len(sums) == 2:
        e, b = sums.values()
        rows.append(f"ratio e-stop / baseline (medians) = {e.median_ms / b.median_ms:.2f}x "
                    f"(pick_place + DDS cost {e.median_ms - b.median_ms:.1f} ms)")
        verdict = "met" if e.max_ms <= target_ms else "NOT met"
        rows.append(f"target e-stop max <= {target_ms:.0f} ms: {verdict} (max {e.max_ms:.1f} ms)")
    rows.append("times from /joint_states header stamps; 'recv med' = the same by receipt time; rad/s, TCP m/s = "
                "median speed when the command was sent; ack = command -> pick_place's latched e-stop state "
                "(e-stop) / the driver's cancel response (baseline) received")
    if retries:
        rows.append(f"goals retried ({len(retries)}): " + "; ".join(retries))
    return "\n".join(rows)


@dataclass
class Bench:
    """The bench's ROS side: one node, spun by this thread only."""

    node: object
    commander: object
    criteria: StopCriteria
    estop_topic: str
    deadline: float
    samples: list[JointSample] = field(default_factory=list)
    estop_states: list[tuple[float, bool]] = field(default_factory=list)  # (received, engaged)
    arm_joints: tuple[str, ...] = ()

    def on_joint_state(self, msg: object) -> None:
        received = time.time()
        index = {n: i for i, n in enumerate(msg.name)}
        if not all(n in index for n in self.arm_joints) or len(msg.velocity) != len(msg.name):
            return
        ids = [index[n] for n in self.arm_joints]
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        self.samples.append(JointSample(stamp, received, np.array([msg.position[i] for i in ids]),
                                        np.array([msg.velocity[i] for i in ids])))
        if len(self.samples) > 3000:  # 30 s at 100 Hz: more than any trial needs
            del self.samples[:1000]

    def spin(self, seconds: float = 0.0) -> None:
        import rclpy

        end = time.monotonic() + seconds
        while True:
            rclpy.spin_once(self.node, timeout_sec=0.005)
            if time.monotonic() >= end:
                return

    def spin_until(self, cond: Callable[[], bool], timeout_s: float) -> bool:
        end = min(time.monotonic() + timeout_s, self.deadline)
        while not cond():
            if time.monotonic() >= end:
                return False
            self.spin()
        return True

    def moving(self) -> bool:
        return bool(self.samples) and is_moving(self.samples[-1], self.criteria)

    def wait_moving_then(self, delay_s: float, ready: Callable[[], bool], ended: Callable[[], bool],
                         timeout_s: float) -> bool:
        """Wait until the arm moves, then delay_s, then until it moves and ready() holds (the stop
        always lands on a moving arm); False when ended() (the motion's goal ended) or on timeout."""
        if not self.spin_until(lambda: self.moving() or ended(), timeout_s) or ended():
            return False
        end = time.monotonic() + delay_s
        self.spin_until(lambda: time.monotonic() >= end or ended(), delay_s + 1.0)
        return self.spin_until(lambda: (self.moving() and ready()) or ended(), timeout_s) and not ended()

    def wait_standstill(self, t_cmd_s: float, tcp_xyz: Callable, kind: str, timeout_s: float = 5.0) -> StopTrial | None:
        trial = None

        def done() -> bool:
            nonlocal trial
            trial = measure_stop(self.samples, t_cmd_s, self.criteria, tcp_xyz, kind)
            return trial is not None

        self.spin_until(done, timeout_s)
        return trial

    def estop_trial(self, instruction: str, delay_s: float, tcp_xyz: Callable) -> tuple[StopTrial | None, str]:
        """One e-stop trial; (trial, "") or (None, why it must be retried)."""
        from std_msgs.msg import Bool

        from spatialbot_ros.nodes.estop_bridge import COMMAND_QOS

        cmd = self.commander
        ok, msg = cmd.arm(True)
        if not ok:
            return None, f"arm refused: {msg}"
        cmd.pick_and_place(instruction)
        pub = self.node.create_publisher(Bool, self.estop_topic, COMMAND_QOS)  # as `ros2 topic pub --once`
        try:
            moved = self.wait_moving_then(delay_s, lambda: pub.get_subscription_count() > 0,
                                          lambda: cmd.is_done(0.0), timeout_s=90.0)
            if not moved:
                self.spin_until(lambda: cmd.is_done(0.0), 60.0)
                r = cmd.result()
                return None, f"goal ended before the e-stop: {r.failure_reason or r.result.value} {r.message[:160]}"
            t_cmd = time.time()
            pub.publish(Bool(data=True))
            trial = self.wait_standstill(t_cmd, tcp_xyz, "estop")

            def acks() -> list[float]:
                return [t for t, engaged in self.estop_states if engaged and t >= t_cmd]

            if trial is not None and self.spin_until(lambda: bool(acks()), 2.0):
                trial.ack_ms = (acks()[0] - t_cmd) * 1e3
        finally:
            self.node.destroy_publisher(pub)
        if not self.spin_until(lambda: cmd.is_done(0.0), 30.0):
            return None, "no goal result after the e-stop"
        r = cmd.result()
        if not cmd.reset_estop():
            raise RuntimeError("the e-stop reset service did not answer")
        if trial is None:
            return None, "no standstill within 5 s of the e-stop"
        if r.failure_reason != "estop":  # something else stopped it first (a watchdog): not an e-stop figure
            return None, f"goal ended {r.failure_reason or r.result.value}, not estop: {r.message[:160]}"
        return trial, ""

    def send_joints(self, client: object, goal_q: np.ndarray, speed_rad_s: float) -> tuple[object, object, float] | None:
        """A one-point FollowJointTrajectory goal straight to the driver, positions only (JTC then
        interpolates linearly: the fastest joint moves at speed_rad_s throughout): (handle, result
        future, duration), or None when it is not accepted."""
        from builtin_interfaces.msg import Duration
        from control_msgs.action import FollowJointTrajectory
        from trajectory_msgs.msg import JointTrajectoryPoint

        from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES

        q0 = self.samples[-1].q
        duration = max(0.5, float(np.max(np.abs(goal_q - q0))) / speed_rad_s)
        goal = FollowJointTrajectory.Goal()
        goal.trajectory.joint_names = list(UR_JOINT_NAMES)
        goal.trajectory.points = [JointTrajectoryPoint(
            positions=[float(x) for x in goal_q],
            time_from_start=Duration(sec=int(duration), nanosec=int((duration % 1) * 1e9)))]
        sent = client.send_goal_async(goal)
        if not self.spin_until(sent.done, 10.0) or not sent.result().accepted:
            return None
        return sent.result(), sent.result().get_result_async(), duration

    def baseline_trial(self, client: object, goal_q: np.ndarray, speed_rad_s: float, delay_s: float,
                       tcp_xyz: Callable) -> tuple[StopTrial | None, str]:
        """A FollowJointTrajectory goal straight to the driver, cancelled after delay_s of motion."""
        sent = self.send_joints(client, goal_q, speed_rad_s)
        if sent is None:
            return None, "baseline goal not accepted"
        handle, result, duration = sent
        if not self.wait_moving_then(delay_s, lambda: True, result.done, timeout_s=10.0):
            self.spin_until(result.done, duration + 5.0)
            return None, "baseline goal ended before the cancel"
        t_cmd = time.time()
        cancel = handle.cancel_goal_async()
        acked: list[float] = []
        cancel.add_done_callback(lambda _f: acked.append(time.time()))
        trial = self.wait_standstill(t_cmd, tcp_xyz, "baseline")
        self.spin_until(lambda: cancel.done() and result.done(), 10.0)
        if trial is None:
            return None, "no standstill within 5 s of the cancel"
        if acked:
            trial.ack_ms = (acked[0] - t_cmd) * 1e3
        from action_msgs.msg import GoalStatus

        if not result.done() or result.result().status != GoalStatus.STATUS_CANCELED:
            return None, "baseline goal did not end canceled"
        return trial, ""


def write_params(directory: Path, speed_scale: float) -> Path:
    path = directory / "bench_estop_params.yaml"
    path.write_text(f"pick_place:\n  ros__parameters:\n    speed_scale: {speed_scale}\n")
    return path


class Graph:
    """`spatialbot-ros up cell-emulated` as a child process, its output in a log file."""

    def __init__(self, params: Path, log_path: Path, duration_s: float) -> None:
        self.params, self.log_path, self.duration_s = params, log_path, duration_s
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as out:
            # a session of its own: stop() signals the whole graph, so no node outlives the bench
            self.proc = subprocess.Popen([sys.executable, "-m", "spatialbot_ros.cli", "up", "cell-emulated",
                                          "--duration", str(self.duration_s), "--params-file", str(self.params)],
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGINT (cli up passes it on to every node, pick_place stops the arm), then wait, then kill."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        try:  # whatever of the graph is left (a node that ignored the stop)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, chars: int = 2000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="e-stop trials (and as many baseline trials)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 trials of each")
    parser.add_argument("--seed", type=int, default=0, help="seeds the random stop delays")
    parser.add_argument("--max-delay-s", type=float, default=0.5, help="stop at a uniform random time this long into a motion")
    parser.add_argument("--speed-scale", type=float, default=1.0, help="pick_place speed_scale (run-time parameter)")
    parser.add_argument("--moving-rad-s", type=float, default=StopCriteria.moving_rad_s,
                        help="the stop is sent only while an arm joint moves faster than this (both kinds)")
    parser.add_argument("--still-rad-s", type=float, default=StopCriteria.still_rad_s,
                        help="standstill: every arm joint slower than this ...")
    parser.add_argument("--settle-rad", type=float, default=StopCriteria.settle_rad,
                        help="... and within this of the standstill position ...")
    parser.add_argument("--settle-s", type=float, default=StopCriteria.settle_s, help="... for this long")
    parser.add_argument("--baseline-speed-rad-s", type=float, default=0.0,
                        help="baseline trajectories' joint speed; 0: the median joint speed at the e-stops")
    parser.add_argument("--camera-info-topic", default="/camera/camera/color/camera_info")
    parser.add_argument("--target-ms", type=float, default=100.0, help="e-stop max target (issue 12)")
    parser.add_argument("--time-limit-s", type=float, default=900.0, help="bound on the whole run")
    parser.add_argument("--estop-topic", default="/spatialbot/estop")
    parser.add_argument("--estop-state-topic", default="/spatialbot/estop_state")
    parser.add_argument("--joint-states-topic", default="/joint_states")
    parser.add_argument("--controller", default="scaled_joint_trajectory_controller")
    args = parser.parse_args(argv)
    trials = 3 if args.quick else args.trials
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from spatialbot_ros.dds_env import apply_dds_env

    apply_dds_env()
    os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
    import rclpy
    from control_msgs.action import FollowJointTrajectory
    from rclpy.action import ActionClient
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, JointState
    from std_msgs.msg import Bool

    from spatialbot_ros.commander import PickPlaceCommander
    from spatialbot_ros.core.ur_kinematics import UR_JOINT_NAMES
    from spatialbot_ros.motion.frames import tcp_pose_from_joints
    from spatialbot_ros.nodes.estop_bridge import LATCHED_QOS

    def tcp_xyz(q: np.ndarray) -> np.ndarray:
        return tcp_pose_from_joints(q, 0.128)[:3, 3]

    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.time_limit_s
    tmp = tempfile.TemporaryDirectory(prefix="bench_estop_")
    params = write_params(Path(tmp.name), args.speed_scale)
    graph = Graph(params, Path(tmp.name) / "graph.log", args.time_limit_s + 60)
    rclpy.init()
    node = rclpy.create_node("bench_estop")
    estop, baseline, retries, restarts = [], [], [], 0
    try:
        bench = Bench(node, PickPlaceCommander(node=node, estop_topic=args.estop_topic),
                      StopCriteria(args.moving_rad_s, args.still_rad_s, args.settle_rad, args.settle_s), args.estop_topic, deadline, arm_joints=UR_JOINT_NAMES)
        node.create_subscription(JointState, args.joint_states_topic, bench.on_joint_state, 50)
        node.create_subscription(Bool, args.estop_state_topic,
                                 lambda m: bench.estop_states.append((time.time(), bool(m.data))), LATCHED_QOS)
        fjt = ActionClient(node, FollowJointTrajectory, f"/{args.controller}/follow_joint_trajectory")

        camera_infos: list[float] = []
        node.create_subscription(CameraInfo, args.camera_info_topic, lambda _m: camera_infos.append(time.monotonic()),
                                 qos_profile_sensor_data)

        def graph_up() -> np.ndarray:
            """(Re)start the graph; the arm's start pose once pick_place has seen joints and frames."""
            graph.start()
            bench.samples.clear()
            camera_infos.clear()
            if not bench.commander.wait_for_server(60.0) or not bench.spin_until(
                    lambda: fjt.server_is_ready() and len(bench.samples) > 10 and len(camera_infos) > 3, 60.0):
                raise SystemExit(f"the cell-emulated graph did not come up (pick_place, the trajectory action, "
                                 f"/joint_states, the camera); its log: {graph.log_tail()}")
            bench.spin(2.0)  # pick_place's own subscriptions match about when ours do: give them time
            return bench.samples[-1].q.copy()

        def graph_restart() -> np.ndarray:
            graph.stop()
            bench.spin_until(lambda: not fjt.server_is_ready() and not bench.commander.wait_for_server(0.0), 10.0)
            return graph_up()

        home = graph_up()
        log.info("graph up; %d e-stop trials", trials)
        attempts = 0
        while len(estop) < trials and time.monotonic() < deadline and attempts < 3 * trials:
            instruction = INSTRUCTIONS[attempts % len(INSTRUCTIONS)]
            attempts += 1
            trial, why = bench.estop_trial(instruction, rng.uniform(0.0, args.max_delay_s), tcp_xyz)
            if trial is None:
                # the cell has no scene reset: a cup dropped at an e-stop, or a stopped pose pick_place
                # will not plan from, fails every later goal the same way, so start a fresh cell
                retries.append(f"'{instruction}': {why}")
                log.info("retry on a fresh graph: %s", why)
                restarts += 1
                graph_restart()
                continue
            estop.append(trial)
            log.info("e-stop %2d: %.1f ms, %.1f mm, at %.2f rad/s %.3f m/s", len(estop), trial.stop_to_standstill_ms,
                     trial.tcp_travel_mm, trial.joint_speed_at_stop_rad_s, trial.tcp_speed_at_stop_m_s)
        # the baseline after the e-stops, at their median joint speed, on a fresh cell from its start pose
        speeds = [t.joint_speed_at_stop_rad_s for t in estop]
        speed = args.baseline_speed_rad_s or min(1.0, max(2 * args.moving_rad_s, statistics.median(speeds or [0.3])))
        log.info("baseline: %d cancels of driver trajectories at %.2f rad/s", trials, speed)
        home = graph_restart()
        attempts = 0
        while len(baseline) < trials and time.monotonic() < deadline and attempts < 3 * trials:
            attempts += 1
            goal_q = home.copy()
            goal_q[0] += 0.35 if attempts % 2 else -0.35
            goal_q[3] += 0.2 if attempts % 2 else -0.2
            trial, why = bench.baseline_trial(fjt, goal_q, speed, rng.uniform(0.0, args.max_delay_s), tcp_xyz)
            if trial is None:
                retries.append(f"baseline: {why}")
                continue
            baseline.append(trial)
            log.info("baseline %2d: %.1f ms, %.1f mm, at %.2f rad/s %.3f m/s", len(baseline), trial.stop_to_standstill_ms,
                     trial.tcp_travel_mm, trial.joint_speed_at_stop_rad_s, trial.tcp_speed_at_stop_m_s)
    finally:
        node.destroy_node()
        rclpy.shutdown()
        graph.stop()
        tmp.cleanup()
    if time.monotonic() >= deadline:
        retries.append(f"time limit {args.time_limit_s:.0f} s reached")
    print(f"e-stop -> standstill, cell-emulated over Fast DDS, pick_place speed_scale {args.speed_scale}, "
          f"stop delay U(0, {args.max_delay_s}) s into a motion, "
          f"sent while a joint moves > {args.moving_rad_s} rad/s, seed {args.seed}")
    print(format_table(estop, baseline, retries, args.target_ms))
    print(f"graph restarts (fresh cell after a failed goal): {restarts}")
    return 0 if len(estop) == trials and len(baseline) == trials else 1


if __name__ == "__main__":
    sys.exit(main())
