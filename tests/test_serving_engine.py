"""The transformers serving engine on tiny-random-llama with real LoRA adapters."""

import gc
import math
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving_support import TINY, build_test_adapters

from alignd.catalog.service import ensure_checkpoint
from alignd.config import Settings
from alignd.errors import Overloaded
from alignd.serving.engine import GenerationParams
from alignd.serving.errors import (
    AdapterLoadFailed,
    ContextLengthExceeded,
    InvalidGenerationParams,
    MaxTokensTooLarge,
    ModelNotLoaded,
)
from alignd.serving.transformers_engine import TransformersEngine

MESSAGES = [{"role": "user", "content": "When do working hours start?"}]
GREEDY = GenerationParams(max_tokens=24, temperature=0.0)


@pytest.fixture(scope="session")
def adapters(model_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_adapters(model_cache_dir, tmp_path_factory.mktemp("adapter-home"))


@pytest.fixture
def engine(settings: Settings) -> Iterator[TransformersEngine]:
    engine = TransformersEngine(settings)
    yield engine
    engine.shutdown()


def make_engine(settings: Settings, **overrides: object) -> TransformersEngine:
    return TransformersEngine(settings.model_copy(update=overrides))


def chat_text(engine: TransformersEngine, model: str, params: GenerationParams = GREEDY) -> str:
    return engine.generate_chat(model, MESSAGES, params).completions[0].text


def test_engine_construction_loads_nothing(engine: TransformersEngine) -> None:
    assert engine.loaded_bases() == {}


def test_base_model_chat_returns_text(engine: TransformersEngine) -> None:
    result = engine.generate_chat(TINY, MESSAGES, GREEDY)
    assert len(result.completions) == 1
    assert result.completions[0].completion_tokens >= 1
    assert result.prompt_tokens > 0


def test_chat_prompt_uses_chat_template(engine: TransformersEngine, settings: Settings) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(ensure_checkpoint(settings, TINY))
    templated = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    expected = len(tokenizer(templated, add_special_tokens=False)["input_ids"])
    assert engine.generate_chat(TINY, MESSAGES, GREEDY).prompt_tokens == expected


def test_greedy_generation_is_repeatable(engine: TransformersEngine) -> None:
    assert chat_text(engine, TINY) == chat_text(engine, TINY)


def test_two_adapters_share_one_base(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_second", TINY, adapters["second"])
    assert engine.loaded_bases() == {TINY: ["model_first", "model_second"]}


def test_two_adapters_answer_differently(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_second", TINY, adapters["second"])
    first = chat_text(engine, "model_first")
    second = chat_text(engine, "model_second")
    base = chat_text(engine, TINY)
    assert first != second
    assert first != base
    assert second != base


def test_adapter_answer_stable_across_switches(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    before = chat_text(engine, "model_first")
    engine.load_adapter("model_second", TINY, adapters["second"])
    chat_text(engine, "model_second")
    chat_text(engine, TINY)
    assert chat_text(engine, "model_first") == before


def test_base_answer_unchanged_by_loaded_adapter(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    before = chat_text(engine, TINY)
    engine.load_adapter("model_first", TINY, adapters["first"])
    assert chat_text(engine, TINY) == before


def test_load_adapter_twice_is_a_no_op(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_first", TINY, adapters["first"])
    assert engine.loaded_bases() == {TINY: ["model_first"]}


def test_load_adapter_without_config_rejected(engine: TransformersEngine, tmp_path: Path) -> None:
    with pytest.raises(AdapterLoadFailed) as caught:
        engine.load_adapter("model_empty", TINY, tmp_path)
    assert "adapter_config.json" in caught.value.detail


def test_load_adapter_on_unknown_base_rejected(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    with pytest.raises(AdapterLoadFailed) as caught:
        engine.load_adapter("model_first", "no-such-base", adapters["first"])
    assert "no-such-base" in caught.value.detail


def test_unload_last_adapter_drops_base_loaded_for_it(
    engine: TransformersEngine, adapters: dict[str, Path]
) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    base_model = weakref.ref(engine._store._bases[TINY].model)
    engine.unload_adapter("model_first")
    gc.collect()
    assert engine.loaded_bases() == {}
    assert base_model() is None


def test_unload_adapter_frees_its_weights(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_second", TINY, adapters["second"])
    peft_model = engine._store._bases[TINY].peft
    lora_weight = weakref.ref(next(p for n, p in peft_model.named_parameters() if "lora_B.model_second" in n))
    engine.unload_adapter("model_second")
    assert lora_weight() is None
    assert engine.is_loaded("model_second") is False


def test_unload_keeps_base_that_serves_requests(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    before = chat_text(engine, TINY)
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.unload_adapter("model_first")
    assert engine.loaded_bases() == {TINY: []}
    assert chat_text(engine, TINY) == before


def test_unloaded_adapter_is_not_found(engine: TransformersEngine, adapters: dict[str, Path]) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.unload_adapter("model_first")
    with pytest.raises(ModelNotLoaded):
        engine.generate_chat("model_first", MESSAGES, GREEDY)


def test_unknown_model_raises_model_not_loaded(engine: TransformersEngine) -> None:
    with pytest.raises(ModelNotLoaded):
        engine.generate_chat("model_nobody_loaded", MESSAGES, GREEDY)


def test_stream_ends_with_error_when_adapter_unloaded(
    engine: TransformersEngine, adapters: dict[str, Path]
) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    stream = engine.stream_chat("model_first", MESSAGES, GenerationParams(max_tokens=200, temperature=0.0))
    next(stream)
    unloader = threading.Thread(target=engine.unload_adapter, args=("model_first",))
    unloader.start()
    unloader.join()
    with pytest.raises(ModelNotLoaded):
        for _ in stream:
            pass
    assert engine.loaded_bases() == {}


def test_stream_text_matches_generated_text(engine: TransformersEngine) -> None:
    params = GenerationParams(max_tokens=40, temperature=0.0)
    expected = engine.generate_text(TINY, "Regular working hours", params).completions[0]
    with engine.stream_text(TINY, "Regular working hours", params) as stream:
        deltas = list(stream)
    assert "".join(delta.text for delta in deltas) == expected.text
    assert deltas[-1].completion == expected


def test_stop_string_ends_text_before_it(engine: TransformersEngine) -> None:
    params = GenerationParams(max_tokens=40, temperature=0.0)
    full = engine.generate_text(TINY, "Regular working hours", params).completions[0].text
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    cut = engine.generate_text(TINY, "Regular working hours", GenerationParams(**{**params.__dict__, "stop": [stop]}))
    assert cut.completions[0].text == full[: full.index(stop)]
    assert cut.completions[0].finish_reason == "stop"


def test_stop_string_never_streamed(engine: TransformersEngine) -> None:
    params = GenerationParams(max_tokens=40, temperature=0.0)
    full = engine.generate_text(TINY, "Regular working hours", params).completions[0].text
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    with engine.stream_text(TINY, "Regular working hours", GenerationParams(**{**params.__dict__, "stop": [stop]})) as stream:
        streamed = "".join(delta.text for delta in stream)
    assert streamed == full[: full.index(stop)]


def test_max_tokens_limits_generation(engine: TransformersEngine) -> None:
    completion = engine.generate_text(TINY, "Regular working hours", GenerationParams(max_tokens=5, temperature=0.0))
    assert completion.completions[0].completion_tokens == 5
    assert completion.completions[0].finish_reason == "length"


def test_seed_makes_sampling_repeatable(engine: TransformersEngine) -> None:
    params = GenerationParams(max_tokens=20, temperature=1.0, top_p=0.9, top_k=50, seed=7)
    first = engine.generate_text(TINY, "Regular working hours", params).completions[0].text
    second = engine.generate_text(TINY, "Regular working hours", params).completions[0].text
    assert first == second


def test_different_seeds_sample_differently(engine: TransformersEngine) -> None:
    texts = {
        engine.generate_text(TINY, "Regular working hours", GenerationParams(max_tokens=20, seed=seed))
        .completions[0]
        .text
        for seed in range(4)
    }
    assert len(texts) > 1


def test_n_returns_that_many_choices(engine: TransformersEngine) -> None:
    result = engine.generate_text(TINY, "Regular working hours", GenerationParams(max_tokens=8, n=3, seed=1))
    assert len(result.completions) == 3


def test_top_k_one_equals_greedy(engine: TransformersEngine) -> None:
    greedy = engine.generate_text(TINY, "Regular working hours", GenerationParams(max_tokens=20, temperature=0.0))
    top_one = engine.generate_text(TINY, "Regular working hours", GenerationParams(max_tokens=20, top_k=1, seed=3))
    assert top_one.completions[0].text == greedy.completions[0].text


def test_confidence_is_a_probability(engine: TransformersEngine) -> None:
    completion = engine.generate_chat(TINY, MESSAGES, GREEDY).completions[0]
    assert 0.0 < completion.confidence <= 1.0


def test_mean_entropy_within_bounds(engine: TransformersEngine) -> None:
    completion = engine.generate_chat(TINY, MESSAGES, GREEDY).completions[0]
    vocabulary = len(engine._store._bases[TINY].tokenizer)
    assert 0.0 <= completion.mean_entropy <= math.log(vocabulary) + 1e-4


def test_max_tokens_above_cap_rejected(settings: Settings) -> None:
    engine = make_engine(settings, max_tokens_cap=64)
    with pytest.raises(MaxTokensTooLarge) as caught:
        engine.generate_chat(TINY, MESSAGES, GenerationParams(max_tokens=65))
    assert "65" in caught.value.detail
    assert "64" in caught.value.detail


def test_prompt_over_context_rejected(engine: TransformersEngine) -> None:
    long_prompt = "working hours " * 2000
    with pytest.raises(ContextLengthExceeded) as caught:
        engine.generate_text(TINY, long_prompt, GREEDY)
    assert caught.value.code == "context_length_exceeded"
    assert "1024" in caught.value.detail


def test_invalid_temperature_rejected(engine: TransformersEngine) -> None:
    with pytest.raises(InvalidGenerationParams) as caught:
        engine.generate_text(TINY, "hi", GenerationParams(temperature=-1.0))
    assert "temperature" in caught.value.detail


def test_full_queue_raises_overloaded(settings: Settings) -> None:
    engine = make_engine(settings, max_queued_requests=1)
    open_stream = engine.stream_text(TINY, "Regular working hours", GREEDY)
    with pytest.raises(Overloaded) as caught:
        engine.generate_text(TINY, "Regular working hours", GREEDY)
    assert caught.value.headers == {"Retry-After": "1"}
    open_stream.close()


def test_closed_stream_frees_queue_place(settings: Settings) -> None:
    engine = make_engine(settings, max_queued_requests=1)
    engine.stream_text(TINY, "Regular working hours", GREEDY).close()
    assert engine.generate_text(TINY, "Regular working hours", GREEDY).completions


def test_stream_limit_raises_overloaded(settings: Settings) -> None:
    engine = make_engine(settings, max_concurrent_streams=1)
    open_stream = engine.stream_text(TINY, "Regular working hours", GREEDY)
    with pytest.raises(Overloaded):
        engine.stream_text(TINY, "Regular working hours", GREEDY)
    open_stream.close()


def test_rejected_request_frees_queue_place(settings: Settings) -> None:
    engine = make_engine(settings, max_queued_requests=1)
    with pytest.raises(ContextLengthExceeded):
        engine.generate_text(TINY, "working hours " * 2000, GREEDY)
    assert engine.generate_text(TINY, "Regular working hours", GREEDY).completions


def test_concurrent_requests_on_two_adapters_match_sequential(
    engine: TransformersEngine, adapters: dict[str, Path]
) -> None:
    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_second", TINY, adapters["second"])
    models = ["model_first", "model_second", TINY, "model_first"]
    sequential = [chat_text(engine, model) for model in models]
    concurrent: list[str | None] = [None] * len(models)

    def generate(index: int) -> None:
        concurrent[index] = chat_text(engine, models[index])

    threads = [threading.Thread(target=generate, args=(index,)) for index in range(len(models))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert concurrent == sequential


@pytest.mark.parametrize("adapter", [None, "first", "second"])
def test_output_matches_transformers_generate(
    engine: TransformersEngine, adapters: dict[str, Path], settings: Settings, adapter: str | None
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    engine.load_adapter("model_first", TINY, adapters["first"])
    engine.load_adapter("model_second", TINY, adapters["second"])
    # Run every model once so the engine switches adapters before the checked request.
    for model in ("model_second", TINY, "model_first"):
        chat_text(engine, model)

    checkpoint = ensure_checkpoint(settings, TINY)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    reference = AutoModelForCausalLM.from_pretrained(checkpoint)
    if adapter is not None:
        reference = PeftModel.from_pretrained(reference, adapters[adapter])
    reference.eval()
    templated = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(templated, add_special_tokens=False, return_tensors="pt")
    output = reference.generate(**inputs, max_new_tokens=GREEDY.max_tokens, do_sample=False)
    expected = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    assert chat_text(engine, f"model_{adapter}" if adapter else TINY) == expected
