"""Serving engine on transformers and peft: one decode loop with a KV cache, per request.

Each forward pass takes the base model's lock, activates the request's adapter and runs
one step, so requests on the same base interleave token by token instead of waiting for
each other to finish.
"""

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import jinja2
import torch
from transformers import DynamicCache, PreTrainedTokenizerBase

from alignd.config import Settings
from alignd.logging import get_logger
from alignd.serving.admission import AdmissionControl, Ticket
from alignd.serving.choices import ChoiceText
from alignd.serving.engine import GenerationParams, GenerationResult, GenerationStream, StreamDelta
from alignd.serving.errors import ContextLengthExceeded, InvalidPrompt, ModelNotLoaded
from alignd.serving.model_store import LoadedAdapter, LoadedBase, ModelStore
from alignd.serving.params import check_params
from alignd.serving.sampling import select_tokens, token_statistics

log = get_logger(__name__)

PromptBuilder = Callable[[PreTrainedTokenizerBase], list[int]]


class TransformersEngine:
    """The default ServingEngine. Construction loads nothing, and models load on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store = ModelStore(settings)
        self._admission = AdmissionControl(settings.max_queued_requests, settings.max_concurrent_streams)

    def load_adapter(self, model_id: str, base_model: str, adapter_dir: Path) -> None:
        self._store.load_adapter(model_id, base_model, adapter_dir)

    def unload_adapter(self, model_id: str) -> None:
        self._store.unload_adapter(model_id)

    def is_loaded(self, model_id: str) -> bool:
        return self._store.has_adapter(model_id)

    def loaded_bases(self) -> dict[str, list[str]]:
        return self._store.describe()

    def generate_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> GenerationResult:
        return _collect(self._open(model, _chat_prompt(model, messages), params, streaming=False), params.n)

    def generate_text(self, model: str, prompt: str, params: GenerationParams) -> GenerationResult:
        return _collect(self._open(model, _text_prompt(prompt), params, streaming=False), params.n)

    def stream_chat(self, model: str, messages: list[dict[str, str]], params: GenerationParams) -> GenerationStream:
        return self._open(model, _chat_prompt(model, messages), params, streaming=True)

    def stream_text(self, model: str, prompt: str, params: GenerationParams) -> GenerationStream:
        return self._open(model, _text_prompt(prompt), params, streaming=True)

    def shutdown(self) -> None:
        self._store.shutdown()

    def _open(self, model: str, build_prompt: PromptBuilder, params: GenerationParams, streaming: bool) -> "DecodeStream":
        check_params(params, self.settings.max_tokens_cap)
        ticket = self._admission.admit(streaming)
        try:
            base, adapter = self._store.target(model)
            prompt_ids = build_prompt(base.tokenizer)
            if not prompt_ids:
                raise InvalidPrompt("The prompt is empty after tokenization. Send at least one character.")
            if len(prompt_ids) >= base.context_length:
                raise ContextLengthExceeded(
                    f"The prompt has {len(prompt_ids)} tokens, but model '{model}' has a context length of "
                    f"{base.context_length} tokens, which must also hold at least one generated token. "
                    "Shorten the prompt."
                )
            return DecodeStream(model, base, adapter, prompt_ids, params, ticket, self._store.device)
        except BaseException:
            ticket.release()
            raise


class DecodeStream(GenerationStream):
    """One request's decode loop. Holds its place in the queue until it ends or is closed."""

    def __init__(
        self,
        model: str,
        base: LoadedBase,
        adapter: LoadedAdapter | None,
        prompt_ids: list[int],
        params: GenerationParams,
        ticket: Ticket,
        device: torch.device,
    ) -> None:
        self.model = model
        self.prompt_tokens = len(prompt_ids)
        self._base = base
        self._adapter = adapter
        self._params = params
        self._ticket = ticket
        self._device = device
        # A max_tokens beyond the room left in the context is lowered to fit, and the choice
        # then ends with finish_reason "length".
        self._max_new_tokens = min(params.max_tokens, base.context_length - len(prompt_ids))
        self._steps = self._decode(prompt_ids)
        self._state = threading.Lock()
        self._running = False
        self._close_requested = False
        self._done = False

    def __next__(self) -> StreamDelta:
        with self._state:
            if self._done or self._close_requested:
                self._finish()
                raise StopIteration
            self._running = True
        try:
            delta = next(self._steps)
        except BaseException:
            with self._state:
                self._running = False
                self._finish()
            raise
        with self._state:
            self._running = False
            if self._close_requested:
                self._finish()
        return delta

    def close(self) -> None:
        with self._state:
            self._close_requested = True
            if not self._running:
                self._finish()

    def _finish(self) -> None:
        """Release the queue place and the KV cache. Call with ``_state`` held, not while a step runs."""
        if not self._done:
            self._done = True
            self._steps.close()
        self._ticket.release()

    def _decode(self, prompt_ids: list[int]) -> Iterator[StreamDelta]:
        params = self._params
        base = self._base
        choices = [ChoiceText(base.tokenizer, params.stop, base.eos_token_ids) for _ in range(params.n)]
        generator = torch.Generator(device=self._device)
        generator.manual_seed(params.seed if params.seed is not None else int.from_bytes(os.urandom(8)) >> 1)

        input_ids = torch.tensor([prompt_ids] * params.n, dtype=torch.long, device=self._device)
        cache = self._new_cache()
        logits = self._forward(input_ids, cache)
        for step in range(1, self._max_new_tokens + 1):
            tokens = select_tokens(logits, params.temperature, params.top_p, params.top_k, generator)
            probabilities, entropies = token_statistics(logits, tokens)
            token_list = tokens.tolist()
            probability_list = probabilities.tolist()
            entropy_list = entropies.tolist()

            for index, choice in enumerate(choices):
                if choice.finished:
                    continue
                text = choice.append(token_list[index], probability_list[index], entropy_list[index])
                if not choice.finished and step == self._max_new_tokens:
                    text += choice.finish_length()
                if choice.finished:
                    yield StreamDelta(text, choice.finish_reason, choice.completion(), index)
                elif text:
                    yield StreamDelta(text, index=index)

            if all(choice.finished for choice in choices):
                return
            logits = self._forward(tokens.unsqueeze(-1), cache)

    def _new_cache(self) -> DynamicCache:
        with self._base.lock:
            model = self._live_model()
            return DynamicCache(config=model.config)

    def _forward(self, input_ids: torch.Tensor, cache: DynamicCache) -> torch.Tensor:
        with self._base.lock:
            model = self._live_model()
            self._base.activate(self._adapter)
            with torch.inference_mode():
                cache_argument = {self._base.cache_argument: cache}
                output = model(input_ids=input_ids, use_cache=True, logits_to_keep=1, **cache_argument)
        return output.logits[:, -1, :]

    def _live_model(self) -> torch.nn.Module:
        if self._adapter is not None and self._adapter.unloaded:
            raise ModelNotLoaded(f"Model '{self.model}' was unloaded while this request was generating.")
        if self._base.model is None:
            raise ModelNotLoaded(f"Base model '{self._base.name}' was unloaded while this request was generating.")
        return self._base.model


def _collect(stream: DecodeStream, n: int) -> GenerationResult:
    completions: list = [None] * n
    with stream:
        for delta in stream:
            if delta.completion is not None:
                completions[delta.index] = delta.completion
    return GenerationResult(prompt_tokens=stream.prompt_tokens, completions=completions)


def _chat_prompt(model: str, messages: list[dict[str, str]]) -> PromptBuilder:
    def build(tokenizer: PreTrainedTokenizerBase) -> list[int]:
        if not tokenizer.chat_template:
            raise InvalidPrompt(
                f"Model '{model}' has no chat template. Send a plain prompt to the completions route instead."
            )
        try:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except jinja2.TemplateError as exc:
            raise InvalidPrompt(f"The messages do not fit the chat template of model '{model}': {exc}") from exc
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    return build


def _text_prompt(prompt: str) -> PromptBuilder:
    def build(tokenizer: PreTrainedTokenizerBase) -> list[int]:
        return tokenizer(prompt)["input_ids"]

    return build
