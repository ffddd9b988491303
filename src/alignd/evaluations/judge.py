"""Optional LLM judge: grades answers through an OpenAI-compatible chat endpoint."""

import re

import httpx

from alignd.config import Settings
from alignd.errors import BadRequest
from alignd.logging import get_logger

log = get_logger(__name__)

_GRADE = re.compile(r"\b(10|[0-9])\b")
_SYSTEM_PROMPT = (
    "You grade an answer to a question against a reference answer. Reply with one integer from 0 to 10 "
    "and nothing else: 10 when the answer states the same facts as the reference answer, 0 when it is "
    "wrong, unrelated or empty."
)


class JudgeNotConfigured(BadRequest):
    code = "judge_not_configured"


def judge_configured(settings: Settings) -> bool:
    return bool(settings.judge_url)


class Judge:
    """Sends one chat request per answer; a failed request yields no grade instead of failing the evaluation."""

    def __init__(self, settings: Settings) -> None:
        if not settings.judge_url:
            raise JudgeNotConfigured(
                "The llm_judge metric needs a judge endpoint: set ALIGND_JUDGE_URL and ALIGND_JUDGE_MODEL."
            )
        self.url = settings.judge_url.rstrip("/") + "/chat/completions"
        self.model = settings.judge_model or "default"
        headers = {"Authorization": f"Bearer {settings.judge_api_key}"} if settings.judge_api_key else {}
        self.client = httpx.Client(timeout=settings.judge_timeout_seconds, headers=headers)

    def grade(self, question: str, expected: str, answer: str) -> float | None:
        """Return the judge's grade scaled to [0, 1], or None when the endpoint fails or replies without one."""
        body = {
            "model": self.model,
            "temperature": 0,
            "max_tokens": 8,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": f"Question: {question}\nReference answer: {expected}\nAnswer to grade: {answer}\nGrade:",
                },
            ],
        }
        try:
            response = self.client.post(self.url, json=body)
            response.raise_for_status()
            reply = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("evaluation.judge_failed", url=self.url, error=f"{type(exc).__name__}: {exc}")
            return None

        match = _GRADE.search(reply or "")
        if match is None:
            log.warning("evaluation.judge_reply_without_grade", url=self.url, reply_chars=len(reply or ""))
            return None
        return int(match.group(1)) / 10.0

    def close(self) -> None:
        self.client.close()
