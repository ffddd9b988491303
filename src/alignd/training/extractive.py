"""The ``extractive`` data generator: question-answer pairs taken from a chunk without any model.

Every answer is text copied from the chunk, cut at about 600 characters. Questions come
from fixed patterns over the chunk's structure, so the same document always gives the same pairs. Patterns, in order:
FAQ-style questions already in the text, the section heading, definitions ("X is a ...",
"X means ...", glossary lines "Term: ..."), numbered rules and clauses, and key sentences
(rules with must/shall, sentences with figures, sentences that open a paragraph).
"""

import re

from alignd.training.chunking import CLAUSE_START, Chunk, split_sentences
from alignd.training.generators import QAPair

_STOPWORDS = frozenset(
    "a an the this that these those it its they them their there he she we you i our your his her "
    "and or but if of to in on at by for with from as into about over under after before between "
    "is are was were be been being has have had do does did can could may might must shall should will would "
    "not no nor so than then also only any all each every some such other more most very".split()
)
_PRONOUN_SUBJECTS = frozenset("it this that these those they there he she we you i here which what who".split())
_DEFINITION = re.compile(
    r"^(?:(?:A|An|The)\s+)?(?P<term>[A-Za-z][\w'’ -]{1,60}?)\s+"
    r"(?P<verb>is defined as|refers to|shall mean|means|is|are)\s+(?P<rest>(?:a|an|the|any|one|two)\s.+)$"
)
_MEANS = re.compile(
    r"^(?:(?:A|An|The)\s+)?(?P<term>[A-Za-z][\w'’ -]{1,60}?)\s+(?:is defined as|refers to|shall mean|means)\s+.+$"
)
_GLOSSARY = re.compile(r"^(?:\*\*)?(?P<term>[A-Z][\w'’ -]{0,50}?)(?:\*\*)?\s*(?::|\s[–—-]\s)\s*(?P<rest>\S.{10,})$")
_RULE_WORDS = re.compile(
    r"\b(must|shall|may not|must not|is required|are required|is not allowed|are not allowed)\b", re.I
)
_NUMBER_WORDS = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand)\b", re.I)
_SUBJECT = re.compile(
    r"^(?P<subject>[A-Za-z][\w'’ -]{1,70}?)\s+"
    r"(?:is|are|was|were|must|shall|should|may|can|will|has|have"
    r"|takes|gives|needs|receives|pays|covers|follows|contains)\b"
)
_MAX_ANSWER_CHARS = 600


def _lower_first(text: str) -> str:
    # Keep acronyms and names ("API", "Mars") as written.
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _clean_term(term: str) -> str | None:
    term = term.strip(" -,'’")
    words = term.split()
    if not 1 <= len(words) <= 6 or words[0].lower() in _PRONOUN_SUBJECTS:
        return None
    return term


def _trim(answer: str) -> str:
    if len(answer) <= _MAX_ANSWER_CHARS:
        return answer
    cut = answer[:_MAX_ANSWER_CHARS]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > _MAX_ANSWER_CHARS // 3 else cut.rstrip() + " …"


def _where(chunk: Chunk, title: str) -> str:
    return f'the section "{chunk.heading}"' if chunk.heading else f'"{title}"'


def _faq_pairs(sentences: list[str]) -> list[QAPair]:
    pairs = []
    for position, sentence in enumerate(sentences[:-1]):
        following = sentences[position + 1]
        if sentence.endswith("?") and not following.endswith("?") and len(sentence.split()) >= 3:
            answer = following
            if position + 2 < len(sentences) and not sentences[position + 2].endswith("?"):
                answer += " " + sentences[position + 2]
            pairs.append(QAPair(sentence, _trim(answer), "faq"))
    return pairs


def _heading_pair(chunk: Chunk, title: str, sentences: list[str]) -> list[QAPair]:
    if chunk.section_part != 0 or not sentences:
        return []
    summary = " ".join(sentences[:3])
    if chunk.heading:
        question = f'What does the section "{chunk.heading}" of "{title}" say?'
    else:
        question = f'What is "{title}" about?'
    return [QAPair(question, _trim(summary), "heading")]


def _definition_pairs(chunk: Chunk, sentences: list[str]) -> list[QAPair]:
    pairs = []
    clauses = [unit.text for unit in chunk.units if unit.kind == "clause"]
    for sentence in sentences + clauses:
        # A question in the text ("How much is the fee?") is no definition; the FAQ pattern takes it.
        if sentence.endswith("?"):
            continue
        is_clause = sentence in clauses
        text = CLAUSE_START.sub("", sentence, count=1) if CLAUSE_START.match(sentence) else sentence
        glossary = _GLOSSARY.match(text) if is_clause else None
        means = _MEANS.match(text)
        definition = _DEFINITION.match(text)
        if glossary and len(glossary.group("term").split()) <= 5:
            term, answer = glossary.group("term").strip(), text
            question = f'What does "{term}" mean?'
        elif means or definition:
            match = means or definition
            term = _clean_term(match.group("term"))  # type: ignore[union-attr]
            if term is None:
                continue
            plural = definition is not None and definition.group("verb") == "are"
            question = f"What are {_lower_first(term)}?" if plural else f'What is meant by "{_lower_first(term)}"?'
            answer = text
        else:
            continue
        pairs.append(QAPair(question, _trim(answer), "definition"))
    return pairs


def _rule_pairs(chunk: Chunk, title: str) -> list[QAPair]:
    pairs = []
    for unit in chunk.units:
        match = CLAUSE_START.match(unit.text) if unit.kind == "clause" else None
        if match is None or match.group("bullet"):
            continue
        label = (match.group("label") or match.group("named")).rstrip(".):").strip("(")
        body = unit.text[match.end():].strip()
        if len(body.split()) < 3:
            continue
        question = f'What does item {label} of {_where(chunk, title)} state?'
        pairs.append(QAPair(question, _trim(body), "rule"))
    return pairs


def _score(sentence: str, position: int) -> float:
    words = sentence.split()
    if not 6 <= len(words) <= 60 or sentence.endswith("?"):
        return 0.0
    score = 1.0
    score += 2.0 if _RULE_WORDS.search(sentence) else 0.0
    score += 1.5 if _NUMBER_WORDS.search(sentence) else 0.0
    score += 0.5 if position == 0 else 0.0
    return score


def _key_sentence_pairs(chunk: Chunk, title: str, sentences: list[str], used: set[str]) -> list[QAPair]:
    scored = [(_score(sentence, position), position, sentence) for position, sentence in enumerate(sentences)]
    ranked = sorted((item for item in scored if item[0] > 0), key=lambda item: (-item[0], item[1]))
    budget = max(1, min(3, sum(len(sentence.split()) for sentence in sentences) // 60))
    pairs = []
    for _score_value, _position, sentence in ranked:
        if len(pairs) >= budget:
            break
        if sentence in used:
            continue
        subject_match = _SUBJECT.match(CLAUSE_START.sub("", sentence, count=1))
        subject = _clean_term(subject_match.group("subject")) if subject_match else None
        if subject is None:
            continue
        subject = _lower_first(re.sub(r"^(?:A|An|The)\s+", "", subject))
        if _RULE_WORDS.search(sentence):
            question = f"What is the rule on {subject} in {_where(chunk, title)}?"
        else:
            question = f"What does {_where(chunk, title)} say about {subject}?"
        pairs.append(QAPair(question, _trim(sentence), "key_sentence"))
        used.add(sentence)
    return pairs


class ExtractiveGenerator:
    """Offline, deterministic question-answer pairs taken from each chunk."""

    name = "extractive"

    def generate(self, chunk: Chunk, title: str) -> list[QAPair]:
        paragraphs = [unit.text for unit in chunk.units if unit.kind == "paragraph"]
        sentences = [sentence for paragraph in paragraphs for sentence in split_sentences(paragraph)]
        pairs = _faq_pairs(sentences)
        pairs += _heading_pair(chunk, title, sentences or [chunk.text])
        pairs += _definition_pairs(chunk, sentences)
        pairs += _rule_pairs(chunk, title)
        used = {pair.answer for pair in pairs}
        pairs += _key_sentence_pairs(chunk, title, sentences, used)
        return pairs

    def close(self) -> None:
        return None
