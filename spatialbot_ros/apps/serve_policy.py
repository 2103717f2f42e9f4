"""Serve one of our policies over HTTP for a SimplerEnv checkout (OpenVLA deploy-script convention).

SimplerEnv pins numpy < 2 and SAPIEN 2, so it cannot import this package; its process runs
clients/simpler_env_client.py instead, which POSTs each step to `/act`:

    {"image": HxWx3 uint8, "instruction": str, "depth_mm": HxW, "intrinsics": {fx, fy, cx, cy[, width,
     height]}, "base_from_camera": 4x4, "tcp_pose_base": 4x4, "gripper_width_m": float, "reset": bool}

Arrays are nested lists or json_numpy objects {"__numpy__": base64 bytes, "dtype": numpy descr,
"shape": [...]} (also accepted under the key "__ndarray__"); OpenVLA's double-encoded form
{"encoded": "<json text>"} is accepted too. The answer is plain JSON:
{"world_vector", "rot_axangle", "gripper", "terminate_episode", "raw": {...}}. Bad input gets
HTTP 400 {"error": ...}, a body over the limit 413; no traceback ever leaves the server.
Standard library only (http.server, threaded); one policy episode is served at a time.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from spatialbot_ros.apps.simpler_env import SimplerEnvPolicy

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 2**20
MAX_ARRAY_ELEMENTS = 4096 * 4096 * 4
_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: never object or structured dtypes
_ARRAY_KEYS = ("__numpy__", "__ndarray__")


class RequestError(ValueError):
    """The request is malformed: answered 400 with this message."""


def decode_array(value: Any, what: str) -> np.ndarray:
    """A nested list or a json_numpy object -> ndarray (numeric dtypes only, bounded size)."""
    if isinstance(value, dict):
        key = next((k for k in _ARRAY_KEYS if k in value), None)
        if key is None:
            raise RequestError(f"{what}: an object must be json_numpy's {{'__numpy__', 'dtype', 'shape'}}")
        try:
            dtype = np.dtype(value["dtype"])
            shape = tuple(int(n) for n in value["shape"])
            data = base64.b64decode(value[key], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise RequestError(f"{what}: bad json_numpy array ({type(exc).__name__}: {exc})") from None
        if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None:
            raise RequestError(f"{what}: dtype {dtype} is not numeric")
        if any(n < 0 for n in shape) or math.prod(shape) > MAX_ARRAY_ELEMENTS:
            raise RequestError(f"{what}: shape {list(shape)} is not acceptable")
        if len(data) != math.prod(shape) * dtype.itemsize:
            raise RequestError(f"{what}: {len(data)} bytes do not fill shape {list(shape)} of {dtype}")
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    if isinstance(value, list):
        try:
            arr = np.asarray(value)
        except ValueError as exc:  # ragged nesting
            raise RequestError(f"{what}: not a rectangular array ({exc})") from None
        if arr.dtype.kind not in _NUMERIC_KINDS:
            raise RequestError(f"{what}: expected numbers, got {arr.dtype}")
        return arr
    raise RequestError(f"{what}: expected an array (nested list or json_numpy object), got {type(value).__name__}")


def _image(value: Any) -> np.ndarray:
    arr = decode_array(value, "image")
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.size == 0:
        raise RequestError(f"image: expected HxWx3 RGB, got shape {list(arr.shape)}")
    if arr.dtype != np.uint8:
        if arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() > 255:
            raise RequestError(f"image: expected uint8 values 0..255, got {arr.dtype}")
        arr = arr.astype(np.uint8)
    return arr


def _json_ready(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


@dataclass
class ActRequest:
    image: np.ndarray
    instruction: str
    reset: bool
    kwargs: dict[str, Any]


def parse_act_request(body: bytes) -> ActRequest:
    """The body of POST /act -> what SimplerEnvPolicy.step takes; RequestError when malformed."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"body is not JSON: {exc}") from None
    if isinstance(payload, dict) and set(payload) == {"encoded"} and isinstance(payload["encoded"], str):
        try:  # OpenVLA's double encoding: the payload as a JSON string
            payload = json.loads(payload["encoded"])
        except json.JSONDecodeError as exc:
            raise RequestError(f"'encoded' is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise RequestError("body must be a JSON object {'image': ..., 'instruction': ...}")
    unknown = set(payload) - {"image", "instruction", "depth_mm", "intrinsics", "base_from_camera",
                              "tcp_pose_base", "gripper_width_m", "reset", "unnorm_key"}
    if unknown:
        raise RequestError(f"unknown keys: {', '.join(sorted(unknown))}")
    if "image" not in payload:
        raise RequestError("missing 'image' (HxWx3 uint8 RGB)")
    instruction = payload.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise RequestError("'instruction' must be a non-empty string")
    if len(instruction) > 2000:
        raise RequestError("'instruction' is longer than 2000 characters")
    reset = payload.get("reset", False)
    if not isinstance(reset, bool):
        raise RequestError("'reset' must be true or false")
    kwargs: dict[str, Any] = {}
    if payload.get("depth_mm") is not None:
        kwargs["depth_mm"] = decode_array(payload["depth_mm"], "depth_mm")
    intr = payload.get("intrinsics")
    if intr is not None:
        if isinstance(intr, dict) and not any(k in intr for k in _ARRAY_KEYS):
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in intr.values()):
                raise RequestError("intrinsics: every value must be a number")
            kwargs["intrinsics"] = intr
        else:
            kwargs["intrinsics"] = decode_array(intr, "intrinsics")
    for key in ("base_from_camera", "tcp_pose_base"):
        if payload.get(key) is not None:
            kwargs[key] = decode_array(payload[key], key)
    width = payload.get("gripper_width_m")
    if width is not None:
        if not isinstance(width, int | float) or isinstance(width, bool):
            raise RequestError("'gripper_width_m' must be a number")
        kwargs["gripper_width_m"] = float(width)
    return ActRequest(_image(payload["image"]), instruction, reset, kwargs)


class PolicyService:
    """The served policy: one SimplerEnvPolicy, one request at a time (an episode is sequential)."""

    def __init__(self, policy: SimplerEnvPolicy) -> None:
        self.policy = policy
        self._lock = threading.Lock()

    def act(self, request: ActRequest) -> dict[str, Any]:
        with self._lock:
            if request.reset:
                self.policy.reset(request.instruction)
            try:
                raw, action = self.policy.step(request.image, request.instruction, **request.kwargs)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
        out = {k: _json_ready(v) for k, v in action.items()}
        out["raw"] = _json_ready(raw)
        return out

    def describe(self) -> dict[str, Any]:
        p = self.policy
        return {"policy": p.policy_name, "policy_setup": p.policy_setup, "control_period_s": p.control_period_s,
                "needs_depth": p.needs_depth, "endpoint": "POST /act"}


def _handler(service: PolicyService, max_body_bytes: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "spatialbot-serve-policy"

        def _reply(self, status: HTTPStatus, body: dict[str, Any], close: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/") in ("", "/health"):
                self._reply(HTTPStatus.OK, service.describe())
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path[:100]}; use POST /act"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") != "/act":
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint {self.path[:100]}; use POST /act"},
                            close=True)
                return
            length_text = self.headers.get("Content-Length")
            if length_text is None:
                self._reply(HTTPStatus.LENGTH_REQUIRED, {"error": "Content-Length is required"}, close=True)
                return
            try:
                length = int(length_text)
                if length < 0:
                    raise ValueError
            except ValueError:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": f"bad Content-Length {length_text[:40]!r}"}, close=True)
                return
            if length > max_body_bytes:  # refused before reading a byte of it
                self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                            {"error": f"body of {length} bytes exceeds the limit of {max_body_bytes} bytes"},
                            close=True)
                return
            body = self.rfile.read(length)
            if len(body) != length:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": "body shorter than its Content-Length"}, close=True)
                return
            try:
                self._reply(HTTPStatus.OK, service.act(parse_act_request(body)))
            except RequestError as exc:
                self._reply(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            except Exception as exc:  # noqa: BLE001 - a bug answers 500 with its name, the trace stays in the log
                log.exception("serve-policy: internal error")
                self._reply(HTTPStatus.INTERNAL_SERVER_ERROR,
                            {"error": f"internal error ({type(exc).__name__}); see the server log"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def make_server(policy: SimplerEnvPolicy, host: str = "127.0.0.1", port: int = 8000,
                max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> ThreadingHTTPServer:
    """A bound, not yet serving server (port 0: any free port; see server.server_address)."""
    server = ThreadingHTTPServer((host, port), _handler(PolicyService(policy), max_body_bytes))
    server.daemon_threads = True
    return server


def serve(policy: SimplerEnvPolicy, host: str = "127.0.0.1", port: int = 8000,
          max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = make_server(policy, host, port, max_body_bytes)
    log.info("serving policy '%s' (%s) on http://%s:%d/act", policy.policy_name, policy.policy_setup,
             *server.server_address[:2])
    try:
        server.serve_forever()
    finally:
        server.server_close()
