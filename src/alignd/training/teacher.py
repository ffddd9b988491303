"""The ``teacher`` data generator: an OpenAI-compatible chat model writes pairs about each chunk."""

import json
import re
import time

import httpx

from alignd.config import Settings
from alignd.logging import get_logger
from alignd.training.chunking import Chunk
from alignd.training.generators import QAPair

log = get_logger(__name__)

_ATTEMPTS = 3
_TIMEOUT_SECONDS = 120.0
_RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
_SYSTEM_PROMPT = (
    "You write training data for a question answering assistant. Given a passage of a document, write "
    "questions that a reader of the document would ask, each with an answer that uses only facts stated "
    "in the passage. Reply with JSON only, in the form "
    '{"pairs": [{"question": "...", "answer": "..."}]}.'
)


class TeacherFailed(RuntimeError):
    """The teacher endpoint could not be reached or returned an error."""


def parse_pairs(content: str) -> list[QAPair]:
    """Read ``{"pairs": [...]}`` or a bare list of ``{question, answer}`` from a reply, fenced or not."""
    match = re.search(r"[\[{].*[\]}]", content, flags=re.S)
    if match is None:
        return []
    try:
        data = json.loads(match.group(0))
    except ValueError:
        return []
    items = data.get("pairs", []) if isinstance(data, dict) else data
    pairs = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        question, answer = str(item.get("question", "")).strip(), str(item.get("answer", "")).strip()
        if question and answer:
            pairs.append(QAPair(question, answer, "teacher"))
    return pairs


class TeacherGenerator:
    """Requests pairs from ``POST {teacher_url}/chat/completions``. Timeouts, 429 and 5xx are retried twice."""

    name = "teacher"

    def __init__(self, settings: Settings) -> None:
        self.url = f"{(settings.teacher_url or '').rstrip('/')}/chat/completions"
        self.model = settings.teacher_model
        headers = {"Authorization": f"Bearer {settings.teacher_api_key}"} if settings.teacher_api_key else {}
        self.client = httpx.Client(timeout=_TIMEOUT_SECONDS, headers=headers)

    def _post(self, body: dict) -> dict:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                response = self.client.post(self.url, json=body)
            except httpx.TransportError as exc:
                error = f"cannot reach {self.url}: {type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return response.json()
                error = f"{self.url} answered HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in _RETRY_STATUSES:
                    raise TeacherFailed(f"Teacher request failed: {error}")
            if attempt < _ATTEMPTS:
                log.warning("teacher.retry", attempt=attempt, error=error)
                time.sleep(attempt)
        raise TeacherFailed(f"Teacher request failed after {_ATTEMPTS} attempts: {error}")

    def generate(self, chunk: Chunk, title: str) -> list[QAPair]:
        wanted = max(1, min(5, chunk.token_count // 60))
        where = f"Document: {title}" + (f"\nSection: {' > '.join(chunk.headings)}" if chunk.headings else "")
        body = {
            "model": self.model,
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT},
                {"role": "user", "content": f"{where}\n\nPassage:\n{chunk.text}\n\nWrite {wanted} pairs."},
            ],
        }
        reply = self._post(body)
        try:
            content = reply["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            raise TeacherFailed(f"{self.url} returned no choices[0].message.content: {str(reply)[:300]}") from None

        pairs = parse_pairs(content)
        if not pairs:
            log.warning("teacher.unusable_reply", document_id=chunk.document_id, chunk_index=chunk.index)
        return pairs

    def close(self) -> None:
        self.client.close()
