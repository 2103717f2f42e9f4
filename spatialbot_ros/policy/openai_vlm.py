"""OpenAI-compatible chat completions (vLLM, SGLang, Ollama, hosted APIs) as a VlmClient.

Standard library HTTP only: images go as PNG data URLs in the user turn; the API key is read from
an environment variable named in the config (never from a file or a parameter value); transient
failures (connection errors, timeouts, 429 and 5xx) are retried with exponential backoff; anything
else is a VlmError with the server's message. A Depth API continuation is sent as the assistant's
partial answer followed by a user turn asking it to continue, which every such server accepts.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from spatialbot_ros.policy.vlm_client import VlmError, VlmRequest

log = logging.getLogger(__name__)

CONTINUE_TEXT = "Continue your answer from exactly where it stopped."
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class OpenAIVlmConfig:
    base_url: str = "http://localhost:8000/v1"
    model: str = "Qwen/Qwen2.5-VL-7B-Instruct"
    api_key_env: str = "OPENAI_API_KEY"   # name of the variable; empty: send no Authorization header
    timeout_s: float = 30.0
    retries: int = 2
    backoff_s: float = 0.5
    temperature: float = 0.0
    system_prompt: str = ""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"openai backend: base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.model:
            raise ValueError("openai backend: model must be set")
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_s < 0:
            raise ValueError("openai backend: timeout_s must be > 0, retries and backoff_s >= 0")


def image_data_url(image_rgb: np.ndarray) -> str:
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise VlmError("could not PNG-encode an image for the request")
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")


def chat_messages(request: VlmRequest, system_prompt: str = "") -> list[dict[str, Any]]:
    """The chat-completions message list for one request (images first, then the question)."""
    content: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": image_data_url(im)}}
                                     for im in request.images]
    content.append({"type": "text", "text": request.question})
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": content})
    if request.assistant_prefix:
        messages += [{"role": "assistant", "content": request.assistant_prefix},
                     {"role": "user", "content": CONTINUE_TEXT}]
    return messages


class OpenAIVlm:
    """VlmClient over POST {base_url}/chat/completions."""

    def __init__(self, config: OpenAIVlmConfig | None = None) -> None:
        self.config = config or OpenAIVlmConfig()
        self.name = f"openai:{self.config.model}"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.config.api_key_env:
            key = os.environ.get(self.config.api_key_env, "")
            if key:
                headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        data = json.dumps(body).encode("utf-8")
        last = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            req = urllib.request.Request(url, data=data, headers=self._headers(), method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                last = f"HTTP {e.code} from {url}: {detail}"
                if e.code not in _RETRY_STATUS:
                    raise VlmError(last) from e
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                last = f"{url} unreachable: {getattr(e, 'reason', e)}"
            except json.JSONDecodeError as e:
                raise VlmError(f"{url} answered with invalid JSON: {e}") from e
            log.warning("openai backend: attempt %d/%d failed: %s", attempt + 1, self.config.retries + 1, last)
        raise VlmError(f"giving up after {self.config.retries + 1} attempts: {last}")

    def generate(self, request: VlmRequest) -> str:
        body = {"model": self.config.model, "messages": chat_messages(request, self.config.system_prompt),
                "max_tokens": request.max_new_tokens, "temperature": self.config.temperature}
        reply = self._post(body)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as e:
            raise VlmError(f"chat completion without choices[0].message.content: {str(reply)[:200]}") from e
        if isinstance(content, list):  # some servers return content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str):
            raise VlmError(f"chat completion content is {type(content).__name__}, not text")
        return content
