"""Prefixed ULID identifiers (``doc_01J...``) and the aligned model id rule."""

import re
import unicodedata

from ulid import ULID


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def aligned_model_id(project_name: str, alignment_id: str) -> str:
    """Build ``model_<name as lower-case snake>_<alignment id in lower case>``."""
    # Accents are dropped ("Ärzte" -> "arzte"); other letters, such as CJK, are kept.
    decomposed = unicodedata.normalize("NFKD", project_name)
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    snake = re.sub(r"[\W_]+", "_", without_marks.lower()).strip("_") or "unnamed"
    return f"model_{snake}_{alignment_id.lower()}"
