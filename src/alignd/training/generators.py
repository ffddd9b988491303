"""Data generators: turn one chunk into question-answer pairs grounded in it."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from alignd.config import Settings
from alignd.errors import BadRequest

if TYPE_CHECKING:
    from alignd.training.chunking import Chunk

GENERATOR_NAMES = ("extractive", "teacher")


@dataclass
class QAPair:
    question: str
    answer: str
    source: str  # which pattern or service produced it, for example "definition" or "teacher"


class PairGenerator(Protocol):
    name: str

    def generate(self, chunk: "Chunk", title: str) -> list[QAPair]: ...

    def close(self) -> None: ...


class UnknownGenerator(BadRequest):
    code = "unknown_data_generator"


class TeacherNotConfigured(BadRequest):
    code = "teacher_not_configured"


def check_generator(settings: Settings, name: str) -> None:
    """Raise a 400 when the generator is unknown or, for 'teacher', when no teacher endpoint is configured."""
    if name not in GENERATOR_NAMES:
        raise UnknownGenerator(f"data_generator '{name}' is unknown. Use one of: {', '.join(GENERATOR_NAMES)}.")
    if name == "teacher" and not (settings.teacher_url and settings.teacher_model):
        raise TeacherNotConfigured(
            "data_generator 'teacher' needs an OpenAI-compatible endpoint: set ALIGND_TEACHER_URL and "
            "ALIGND_TEACHER_MODEL (and ALIGND_TEACHER_API_KEY if it needs a key), or use 'extractive'."
        )


def build_generator(settings: Settings, name: str) -> PairGenerator:
    check_generator(settings, name)
    if name == "teacher":
        from alignd.training.teacher import TeacherGenerator

        return TeacherGenerator(settings)
    from alignd.training.extractive import ExtractiveGenerator

    return ExtractiveGenerator()
