"""The openai backend against a local HTTP server that speaks chat completions."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from chat_server import ChatServer

from spatialbot_ros.core.som_proposer import GeometricProposer
from spatialbot_ros.policy.openai_vlm import CONTINUE_TEXT, OpenAIVlm, OpenAIVlmConfig
from spatialbot_ros.policy.registry import make_policy, make_policy_from_params
from spatialbot_ros.policy.vlm_client import VlmError, VlmRequest
from spatialbot_ros.policy.vlm_grounder import VlmGrounder

pytestmark = pytest.mark.sim  # MuJoCo-rendered frames and scenes (module fixtures)


@pytest.fixture()
def server_factory():
    servers: list[ChatServer] = []

    def make(script):
        s = ChatServer(script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def _image_from_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    png = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_request_carries_images_question_key_and_model(server_factory, monkeypatch):
    srv = server_factory([(200, "Mark 2", 0.0)])
    monkeypatch.setenv("SBR_TEST_KEY", "sk-local")
    img = np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    client = OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="tiny-vl", api_key_env="SBR_TEST_KEY", retries=0))
    assert client.generate(VlmRequest("Which mark?", [img], max_new_tokens=12)) == "Mark 2"
    body, headers = srv.bodies[0], srv.headers[0]
    assert body["model"] == "tiny-vl" and body["max_tokens"] == 12 and body["temperature"] == 0.0
    assert headers["Authorization"] == "Bearer sk-local"
    content = body["messages"][0]["content"]
    np.testing.assert_array_equal(_image_from_data_url(content[0]["image_url"]["url"]), img)  # PNG is lossless
    assert content[1] == {"type": "text", "text": "Which mark?"}


def test_no_key_no_authorization_header(server_factory, monkeypatch):
    srv = server_factory([(200, "yes", 0.0)])
    monkeypatch.delenv("SBR_TEST_KEY", raising=False)
    OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="m", api_key_env="SBR_TEST_KEY")).generate(VlmRequest("q?"))
    assert "Authorization" not in srv.headers[0]


def test_transient_errors_are_retried_then_succeed(server_factory):
    srv = server_factory([(503, "busy", 0.0), (429, "slow down", 0.0), (200, "Mark 1", 0.0)])
    client = OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="m", retries=2, backoff_s=0.01))
    assert client.generate(VlmRequest("q?")) == "Mark 1" and len(srv.bodies) == 3


def test_client_errors_are_not_retried(server_factory):
    srv = server_factory([(400, "bad image", 0.0), (200, "Mark 1", 0.0)])
    client = OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="m", retries=3, backoff_s=0.01))
    with pytest.raises(VlmError, match="HTTP 400.*bad image"):
        client.generate(VlmRequest("q?"))
    assert len(srv.bodies) == 1


def test_timeouts_give_up_after_the_retries(server_factory):
    srv = server_factory([(200, "late", 1.0), (200, "late", 1.0)])
    client = OpenAIVlm(OpenAIVlmConfig(base_url=srv.url, model="m", timeout_s=0.2, retries=1, backoff_s=0.01))
    with pytest.raises(VlmError, match="2 attempts"):
        client.generate(VlmRequest("q?"))


def test_unreachable_server_and_bad_config():
    client = OpenAIVlm(OpenAIVlmConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=0.5, retries=0))
    with pytest.raises(VlmError, match="unreachable"):
        client.generate(VlmRequest("q?"))
    with pytest.raises(ValueError, match="base_url"):
        OpenAIVlmConfig(base_url="localhost:8000")


def test_openai_policy_grounds_with_the_depth_loop_over_http(server_factory, six_object_cell):
    cell, objects, frame = six_object_cell
    marks = GeometricProposer().propose(frame, cell.base_from_camera).marks
    target = marks[0]
    srv = server_factory([(200, "Let me check Depth(0.5,0.5)", 0.0), (200, f"so the answer is Mark {target.id}", 0.0)])
    policy = make_policy("openai", base_url=srv.url, model="tiny-vl", retries=0)
    grounder: VlmGrounder = policy.grounder
    # a phrase that names one object (the shared grounding check refuses an ambiguous "the object")
    g = grounder.ground(f"pick up the {target.color_name} object", frame, marks, cell.base_from_camera)
    assert g.pick_mark_id == target.id
    second = srv.bodies[1]["messages"]
    # continuation: the assistant's answer so far, with the depth filled in, then a user turn to go on
    assert second[-2]["role"] == "assistant" and second[-2]["content"].startswith("Let me check Depth(0.5,0.5)=")
    assert second[-1] == {"role": "user", "content": CONTINUE_TEXT}


def test_backend_config_file_and_unknown_options(tmp_path, server_factory):
    srv = server_factory([])
    cfg = tmp_path / "vlm.yaml"
    cfg.write_text(f"openai:\n  base_url: {srv.url}\n  model: from-file\n  retries: 0\n  with_depth: false\n")
    policy = make_policy_from_params("openai", backend_config=str(cfg))
    assert policy.grounder.client.config.model == "from-file" and not policy.grounder.config.style.with_depth
    assert make_policy_from_params("openai", model_dir="override", backend_config=str(cfg)).grounder.client.config.model == "override"
    with pytest.raises(ValueError, match="unknown backend option"):
        make_policy("openai", base_url=srv.url, temprature=0.5)
    with pytest.raises(ValueError, match="no such file"):
        make_policy_from_params("openai", backend_config=str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="does not apply"):
        make_policy_from_params("geometric", model_dir="x", backend_config=str(cfg))


def test_shipped_backend_config_builds_every_non_model_backend():
    policy = make_policy_from_params("openai", backend_config="config/policy_backends.yaml")
    assert policy.grounder.client.config.api_key_env == "OPENAI_API_KEY"
