"""serve-policy: our policy over HTTP (OpenVLA's POST /act convention) for a SimplerEnv checkout,
driven by clients/simpler_env_client.py exactly as a SimplerEnv process would use it."""

from __future__ import annotations

import ast
import base64
import http.client
import importlib.util
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from spatialbot_ros.apps.serve_policy import RequestError, decode_array, make_server, parse_act_request
from spatialbot_ros.apps.simpler_env import SimplerEnvPolicy

CLIENT_PATH = Path(__file__).resolve().parents[1] / "clients" / "simpler_env_client.py"


def load_client():
    spec = importlib.util.spec_from_file_location("simpler_env_client", CLIENT_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.core
def test_client_is_standalone():
    source = CLIENT_PATH.read_text()
    assert "spatialbot_ros" not in source.split('"""', 2)[2]  # only the docstring names the package
    assert "import requests" not in source
    ast.parse(source, feature_version=(3, 8))  # SimplerEnv's interpreters are old: 3.8 grammar
    # annotations stay strings (PEP 563), so `X | None` and dict[...] never run on 3.8
    assert "from __future__ import annotations" in source


@pytest.mark.core
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64, np.int64])
def test_json_numpy_arrays_round_trip(dtype):
    client = load_client()
    arr = (np.arange(24).reshape(2, 3, 4) * 3).astype(dtype)
    encoded = json.loads(json.dumps(client.encode_array(arr)))
    out = decode_array(encoded, "x")
    assert out.dtype == arr.dtype and np.array_equal(out, arr)
    legacy = {"__ndarray__": encoded["__numpy__"], "dtype": str(arr.dtype), "shape": list(arr.shape)}
    assert np.array_equal(decode_array(legacy, "x"), arr)


@pytest.mark.core
def test_malformed_arrays_and_requests_refused_with_a_message():
    good = {"__numpy__": base64.b64encode(b"\x00" * 6).decode(), "dtype": "|u1", "shape": [2, 3]}
    with pytest.raises(RequestError, match="do not fill"):
        decode_array({**good, "shape": [4, 3]}, "image")
    with pytest.raises(RequestError, match="not numeric"):
        decode_array({**good, "dtype": "|O"}, "image")
    with pytest.raises(RequestError, match="bad json_numpy"):
        decode_array({**good, "__numpy__": "***"}, "image")
    with pytest.raises(RequestError, match="rectangular"):
        decode_array([[1, 2], [3]], "image")
    with pytest.raises(RequestError, match="expected numbers"):
        decode_array([["a"]], "image")
    with pytest.raises(RequestError, match="not JSON"):
        parse_act_request(b"{nope")
    with pytest.raises(RequestError, match="instruction"):
        parse_act_request(json.dumps({"image": np.zeros((2, 2, 3), int).tolist()}).encode())
    with pytest.raises(RequestError, match="HxWx3"):
        parse_act_request(json.dumps({"image": [[1, 2]], "instruction": "pick the cup"}).encode())
    with pytest.raises(RequestError, match="unknown keys: colour"):
        parse_act_request(json.dumps({"image": [], "instruction": "x", "colour": 1}).encode())
    # OpenVLA's double-encoded form is one JSON string
    inner = json.dumps({"image": np.zeros((2, 2, 3), int).tolist(), "instruction": "pick the cup", "reset": True})
    req = parse_act_request(json.dumps({"encoded": inner}).encode())
    assert req.image.shape == (2, 2, 3) and req.image.dtype == np.uint8 and req.reset


@pytest.fixture(scope="module")
def rendered():
    from spatialbot_ros.apps.episode import view_from_observe_pose
    from spatialbot_ros.sim.cell import CellConfig, Ur5Cell
    from spatialbot_ros.sim.scene import default_scene_path, load_scene

    scene = load_scene(default_scene_path())
    cell = Ur5Cell(scene.objects, CellConfig.from_scene(scene))
    cell.reset()
    _, frame = view_from_observe_pose(cell)
    base_from_camera = cell.base_from_camera.copy()
    cell.close()
    return scene, frame, base_from_camera


@pytest.fixture()
def server():
    srv = make_server(SimplerEnvPolicy("geometric", "widowx_bridge"), "127.0.0.1", 0, max_body_bytes=8 * 2**20)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)  # shutdown() waits one poll
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


@pytest.mark.sim
def test_served_policy_answers_the_simplerenv_client_like_the_local_adapter(server, rendered):
    url, _ = server
    scene, frame, base_from_camera = rendered
    client = load_client()
    remote = client.SpatialBotServerInference(url, policy_setup="widowx_bridge")
    local = SimplerEnvPolicy("geometric", "widowx_bridge")
    k = frame.intrinsics
    intrinsics = {"fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy, "width": k.width, "height": k.height}
    remote.reset(scene.instruction)
    local.reset(scene.instruction)
    for _ in range(4):
        kwargs = {"depth_mm": frame.depth_mm, "intrinsics": intrinsics, "base_from_camera": base_from_camera}
        raw, action = remote.step(frame.color_rgb, scene.instruction, **kwargs)
        raw_local, action_local = local.step(frame.color_rgb, scene.instruction, **kwargs)
        assert set(action) == {"world_vector", "rot_axangle", "gripper", "terminate_episode"}
        for key, value in action.items():
            assert isinstance(value, np.ndarray) and value.shape == action_local[key].shape
            np.testing.assert_allclose(value, action_local[key], atol=1e-12)
        assert action["gripper"][0] == 1.0 and action["terminate_episode"][0] == 0.0
        assert raw["phase"] == raw_local["phase"] == "approach" and not raw["error"]
        assert raw["mark_id"] == raw_local["mark_id"]
    assert np.linalg.norm(action["world_vector"]) > 0  # the arm is sent toward the cup
    # a reset starts the episode again on the server too
    remote.reset(scene.instruction)
    local.reset(scene.instruction)
    raw, action = remote.step(frame.color_rgb, **kwargs)
    np.testing.assert_allclose(action["world_vector"], local.step(frame.color_rgb, **kwargs)[1]["world_vector"])
    # the server refuses a step without depth, with the adapter's message
    with pytest.raises(client.ServerError, match="400.*needs depth"):
        remote.step(frame.color_rgb, intrinsics=intrinsics, base_from_camera=base_from_camera)
    # a client set up for the other gripper convention is told so before any step
    with pytest.raises(client.ServerError, match="google_robot"):
        client.SpatialBotServerInference(url, policy_setup="google_robot").step(frame.color_rgb, "x")


def _post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/act", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.core
def test_malformed_body_gets_400_with_a_message_not_a_traceback(server):
    url, _ = server
    status, body = _post(url, b"{this is not json")
    assert status == 400 and body["error"].startswith("body is not JSON") and "Traceback" not in body["error"]
    status, body = _post(url, json.dumps({"image": [[[0, 0, 0]]], "instruction": 5}).encode())
    assert status == 400 and "instruction" in body["error"]
    status, body = _post(url, json.dumps({"image": [[[300, 0, 0]]], "instruction": "pick the cup"}).encode())
    assert status == 400 and "0..255" in body["error"]
    # the server still answers after bad requests
    with urllib.request.urlopen(url + "/health", timeout=30) as resp:
        info = json.loads(resp.read())
    assert info["policy"] == "geometric" and info["policy_setup"] == "widowx_bridge" and info["needs_depth"]


@pytest.mark.core
def test_oversized_content_length_gets_413_before_the_body_is_read(server):
    url, srv = server
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    conn.putrequest("POST", "/act")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(9 * 2**20))  # over the 8 MiB this server allows; no body sent
    conn.endheaders()
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 413 and "exceeds the limit" in body["error"]
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=30)
    conn.putrequest("POST", "/act")
    conn.putheader("Content-Length", "lots")
    conn.endheaders()
    resp = conn.getresponse()
    assert resp.status == 400 and "Content-Length" in json.loads(resp.read())["error"]
    conn.close()


@pytest.mark.core
def test_serve_policy_command_line():
    from spatialbot_ros.cli import ExitCode, build_parser, main

    args = build_parser().parse_args(["serve-policy", "--policy", "geometric", "--host", "0.0.0.0", "--port", "0",
                                      "--policy-setup", "google_robot"])
    assert (args.policy, args.host, args.port, args.policy_setup) == ("geometric", "0.0.0.0", 0, "google_robot")
    assert main(["serve-policy", "--port", "70000"]) == ExitCode.USAGE
    assert main(["serve-policy", "--policy-setup", "franka"]) == ExitCode.USAGE
