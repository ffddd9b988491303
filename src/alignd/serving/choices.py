"""Text of one generated choice: incremental decoding, stop strings and statistics."""

from transformers import PreTrainedTokenizerBase

from alignd.serving.engine import Completion

# What a tokenizer returns for bytes that do not yet form a whole UTF-8 character.
_INCOMPLETE_CHARACTER = "\ufffd"


class ChoiceText:
    """Turns the tokens of one choice into text deltas that never contain a stop string.

    Text that could be the start of a stop string is held back until the next tokens show
    whether the stop string follows.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, stop: list[str], eos_token_ids: set[int]) -> None:
        self._tokenizer = tokenizer
        self._stop = stop
        self._eos_token_ids = eos_token_ids
        self._token_ids: list[int] = []
        self._text = ""
        self._sent = 0
        self.finish_reason: str | None = None
        self.generated_tokens = 0
        self._probability_sum = 0.0
        self._entropy_sum = 0.0

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def append(self, token_id: int, probability: float, entropy: float) -> str:
        """Add a generated token and return the text that is now safe to send."""
        self.generated_tokens += 1
        self._probability_sum += probability
        self._entropy_sum += entropy
        if token_id in self._eos_token_ids:
            return self._finish("stop")

        self._token_ids.append(token_id)
        text = self._tokenizer.decode(self._token_ids, skip_special_tokens=True)
        if text.endswith(_INCOMPLETE_CHARACTER):
            return ""
        self._text = text

        stop_at = self._first_stop(text)
        if stop_at is not None:
            self._text = text[:stop_at]
            return self._finish("stop")

        safe_end = len(text) - self._stop_prefix_length(text)
        if safe_end <= self._sent:
            return ""
        delta = text[self._sent : safe_end]
        self._sent = safe_end
        return delta

    def finish_length(self) -> str:
        """End the choice because it reached its token limit, and return the text still held back."""
        text = self._tokenizer.decode(self._token_ids, skip_special_tokens=True)
        stop_at = self._first_stop(text)
        if stop_at is not None:
            self._text = text[:stop_at]
            return self._finish("stop")
        self._text = text
        return self._finish("length")

    def completion(self) -> Completion:
        count = max(self.generated_tokens, 1)
        return Completion(
            text=self._text,
            finish_reason=self.finish_reason or "length",
            completion_tokens=self.generated_tokens,
            confidence=self._probability_sum / count,
            mean_entropy=self._entropy_sum / count,
        )

    def _finish(self, reason: str) -> str:
        self.finish_reason = reason
        delta = self._text[self._sent :]
        self._sent = len(self._text)
        return delta

    def _first_stop(self, text: str) -> int | None:
        positions = [position for stop in self._stop if (position := text.find(stop)) >= 0]
        return min(positions) if positions else None

    def _stop_prefix_length(self, text: str) -> int:
        """Length of the longest end of ``text`` that begins some stop string."""
        longest = 0
        for stop in self._stop:
            for length in range(min(len(stop) - 1, len(text)), longest, -1):
                if text.endswith(stop[:length]):
                    longest = length
                    break
        return longest
