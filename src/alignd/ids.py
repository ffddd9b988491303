"""Prefixed ULID identifiers (``doc_01J...``) and the aligned model id rule."""

import re

from ulid import ULID


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def aligned_model_id(project_name: str, alignment_id: str) -> str:
    """Build ``model_<name as lower-case snake>_<alignment id in lower case>``."""
    snake = re.sub(r"[^0-9a-zA-Z]+", "_", project_name).strip("_").lower() or "unnamed"
    return f"model_{snake}_{alignment_id.lower()}"
