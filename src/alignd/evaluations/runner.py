"""Answering a benchmark with one or two models, scoring each answer, and summing up the scores.

Used by the evaluation job and by the automatic evaluation of alignment projects, both in a
child process with their own serving engine.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.errors import BadRequest
from alignd.evaluations.embeddings import Embedder, load_embedder, resolve_device
from alignd.evaluations.judge import Judge
from alignd.evaluations.metrics import (
    combine,
    grounding_similarities,
    grounding_units,
    semantic_similarities,
    token_f1,
    uncertainty,
)
from alignd.evaluations.models import Evaluation, EvaluationAnswer
from alignd.evaluations.repository import EvaluationRepository
from alignd.evaluations.targets import ModelTarget
from alignd.logging import get_logger
from alignd.serving.engine import GenerationParams, ServingEngine

log = get_logger(__name__)


class EvaluationGone(Exception):
    """The evaluation row was deleted while its answers were being generated."""


@dataclass(frozen=True)
class BenchmarkItem:
    question_num: int
    question: str
    answer: str


def scoring_settings(settings: Settings) -> dict[str, float]:
    return {
        "similarity_weight": settings.eval_similarity_weight,
        "accuracy_threshold": settings.eval_accuracy_threshold,
        "domain_threshold": settings.eval_domain_threshold,
        "max_tokens": settings.eval_max_tokens,
    }


class Scorer:
    """Scores one answer: similarity and token F1 to the reference, grounding in the sources, judge grade."""

    def __init__(
        self, settings: Settings, embedder: Embedder, source_vectors: np.ndarray | None, judge: Judge | None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        # None when the evaluation has no source documents, so domain violations cannot be measured.
        self.source_vectors = source_vectors
        self.judge = judge

    def score(self, item: BenchmarkItem, answer: str, mean_entropy: float, confidence: float) -> dict[str, Any]:
        similarity = semantic_similarities(self.embedder, [answer], [item.answer])[0]
        combined = combine(
            similarity,
            token_f1(answer, item.answer),
            similarity_weight=self.settings.eval_similarity_weight,
            threshold=self.settings.eval_accuracy_threshold,
        )
        scores: dict[str, Any] = {
            "semantic_similarity": combined.semantic_similarity,
            "token_f1": combined.token_f1,
            "score": combined.score,
            "correct": combined.correct,
            "mean_entropy": mean_entropy,
            "confidence": confidence,
        }
        if self.source_vectors is not None:
            grounding = grounding_similarities(self.embedder, [answer], self.source_vectors)[0]
            scores["domain_similarity"] = grounding
            scores["domain_violation"] = grounding < self.settings.eval_domain_threshold
        if self.judge is not None:
            scores["judge_score"] = self.judge.grade(item.question, item.answer, answer)
        return scores

    def close(self) -> None:
        if self.judge is not None:
            self.judge.close()


def build_scorer(settings: Settings, source_texts: Sequence[str] | None, use_judge: bool) -> Scorer:
    """Load the embedding model and embed the source documents once for the whole evaluation."""
    embedder = load_embedder(resolve_device(settings.device))
    source_vectors = None
    if source_texts:
        # NOTE: every sentence of every source is embedded, so very large document sets make this slow.
        source_vectors = embedder.encode(grounding_units(source_texts))
    return Scorer(settings, embedder, source_vectors, Judge(settings) if use_judge else None)


def answer_benchmark(
    settings: Settings,
    evaluation_id: str,
    targets: dict[int, ModelTarget],
    items: Sequence[BenchmarkItem],
    scorer: Scorer,
    engine: ServingEngine,
) -> None:
    """Have every target answer every item, storing each question's answers as soon as they exist.

    Answers already stored for a slot are kept, so a second run continues where the first stopped.
    """
    with session_scope(settings) as session:
        repo = EvaluationRepository(session)
        stored = {
            (row.slot, row.question_num): row.seconds for row in repo.answers(evaluation_id) if row.slot in targets
        }
        done = [item for item in items if all((slot, item.question_num) in stored for slot in targets)]
        _update(
            repo,
            evaluation_id,
            total_questions=len(items),
            completed_questions=len(done),
            answer_seconds=sum(stored.get((slot, item.question_num), 0.0) for item in done for slot in targets),
        )

    for target in targets.values():
        if target.adapter_dir is not None:
            engine.load_adapter(target.model_id, target.base_model, target.adapter_dir)
    max_tokens = min(settings.eval_max_tokens, settings.max_tokens_cap)
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, top_p=1.0, n=1, seed=0)

    for item in items:
        rows: list[EvaluationAnswer] = []
        for slot, target in targets.items():
            if (slot, item.question_num) in stored:
                continue
            rows.append(_answer_one(evaluation_id, slot, target, item, scorer, engine, params))
        if not rows:
            continue
        # Time of the question: its new answers plus any answer a previous run stored.
        seconds = sum(row.seconds for row in rows) + sum(
            stored.get((slot, item.question_num), 0.0) for slot in targets
        )
        with session_scope(settings) as session:
            repo = EvaluationRepository(session)
            repo.add_answers(rows)
            _update(
                repo,
                evaluation_id,
                completed_questions=Evaluation.completed_questions + 1,
                answer_seconds=Evaluation.answer_seconds + seconds,
            )
        log.info("evaluation.question_answered", evaluation_id=evaluation_id, question_num=item.question_num)


def _answer_one(
    evaluation_id: str,
    slot: int,
    target: ModelTarget,
    item: BenchmarkItem,
    scorer: Scorer,
    engine: ServingEngine,
    params: GenerationParams,
) -> EvaluationAnswer:
    started = time.perf_counter()
    try:
        result = engine.generate_chat(target.engine_model, [{"role": "user", "content": item.question}], params)
    except BadRequest as exc:
        # A question the model cannot take (longer than its context, for one) gets an empty,
        # wrong answer instead of failing the whole evaluation.
        log.warning(
            "evaluation.question_rejected",
            evaluation_id=evaluation_id,
            question_num=item.question_num,
            model_id=target.model_id,
            error=exc.detail,
        )
        scores = {**scorer.score(item, "", 0.0, 0.0), "error": exc.detail}
        return _answer_row(evaluation_id, slot, item, "", scores, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    completion = result.completions[0]
    answer = completion.text.strip()
    scores = scorer.score(item, answer, completion.mean_entropy, completion.confidence)
    return _answer_row(evaluation_id, slot, item, answer, scores, seconds)


def _answer_row(
    evaluation_id: str, slot: int, item: BenchmarkItem, answer: str, scores: dict[str, Any], seconds: float
) -> EvaluationAnswer:
    return EvaluationAnswer(
        evaluation_id=evaluation_id,
        slot=slot,
        question_num=item.question_num,
        question=item.question,
        expected_answer=item.answer,
        answer=answer,
        scores=scores,
        seconds=seconds,
    )


def _update(repo: EvaluationRepository, evaluation_id: str, **values: object) -> None:
    if not repo.update_fields(evaluation_id, **values):
        raise EvaluationGone(evaluation_id)


def summarize(answers: Sequence[EvaluationAnswer]) -> dict[str, Any]:
    """Aggregate one model's answer scores into its metrics."""
    scores = [row.scores or {} for row in answers]
    metrics: dict[str, Any] = {
        "accuracy": _mean([float(bool(s.get("correct"))) for s in scores]),
        "uncertainty": uncertainty([float(s.get("mean_entropy", 0.0)) for s in scores]),
        "domain_violations": None,
        "semantic_similarity": _mean([float(s.get("semantic_similarity", 0.0)) for s in scores]),
        "token_f1": _mean([float(s.get("token_f1", 0.0)) for s in scores]),
        "mean_score": _mean([float(s.get("score", 0.0)) for s in scores]),
        "confidence": _mean([float(s.get("confidence", 0.0)) for s in scores]),
        "answered_questions": len(scores),
        "correct_answers": sum(1 for s in scores if s.get("correct")),
        "average_seconds_per_answer": _mean([row.seconds for row in answers]),
    }
    grounded = [s["domain_violation"] for s in scores if "domain_violation" in s]
    if grounded and len(grounded) == len(scores):
        metrics["domain_violations"] = _mean([float(bool(value)) for value in grounded])
    if any("judge_score" in s for s in scores):
        grades = [s["judge_score"] for s in scores if s.get("judge_score") is not None]
        metrics["llm_judge"] = _mean(grades) if grades else None
        metrics["llm_judge_failures"] = len(scores) - len(grades)
    return metrics


def finish(session: Session, evaluation_id: str, slots: Sequence[int]) -> Evaluation:
    """Store the metrics of the given slots from their answers and return the evaluation."""
    repo = EvaluationRepository(session)
    evaluation = repo.get(evaluation_id)
    if evaluation is None:
        raise EvaluationGone(evaluation_id)
    for slot in slots:
        metrics = summarize(repo.answers(evaluation_id, slot))
        if slot == 1:
            evaluation.metrics_1 = metrics
        else:
            evaluation.metrics_2 = metrics
    session.flush()
    return evaluation


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
