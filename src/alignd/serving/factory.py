"""Choose the serving engine implementation from the settings."""

from alignd.config import Settings
from alignd.serving.engine import ServingEngine


def build_engine(settings: Settings) -> ServingEngine:
    from alignd.serving.transformers_engine import TransformersEngine

    return TransformersEngine(settings)
