"""Choose the serving engine implementation from the settings."""

from alignd.config import Settings
from alignd.serving.engine import ServingEngine


def build_engine(settings: Settings) -> ServingEngine:
    """Build the process's serving engine. Routes and the deploy service see only ServingEngine.

    NOTE: transformers is the only engine so far. Another one (llama.cpp, vLLM) plugs in here,
    chosen by a setting, once it implements ServingEngine, including the errors of
    ``alignd.serving.errors`` and the queue limits of ``alignd.serving.admission``.
    """
    from alignd.serving.transformers_engine import TransformersEngine

    return TransformersEngine(settings)
