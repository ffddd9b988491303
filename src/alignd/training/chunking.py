"""Split documents into chunks along their structure: headings, paragraphs and numbered clauses.

A chunk never crosses a heading and stays within a token budget. Units longer than the
budget are split at sentence ends, and sentences longer than the budget at word boundaries.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

CountTokens = Callable[[str], int]

_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
# "1.", "2.3", "4)", "(a)", "b)", "- ", "* ", "• ", or "Article 5", "Section 2.1", "Rule 3", "Clause 7".
CLAUSE_START = re.compile(
    r"^\s*(?:(?P<label>\d+(?:\.\d+)+[.)]?|\d+[.)]|\([0-9a-zA-Z]{1,4}\)|[a-z][.)])"
    r"|(?P<bullet>[-*+•])"
    r"|(?P<named>(?:Article|Section|Clause|Rule)\s+\d+(?:\.\d+)*[.:]?))\s+(?=\S)"
)
# A glossary line: "Term: definition" with a short capitalised term.
GLOSSARY_LINE = re.compile(r"^\s*(?:\*\*)?[A-Z][\w'’ -]{0,40}(?:\*\*)?:\s+\S")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9\"'(])")


@dataclass
class Block:
    kind: str  # "heading", "paragraph" or "clause" (a list item, numbered clause or glossary line)
    text: str
    level: int = 0  # heading level, 1 for "#"


@dataclass
class Chunk:
    document_id: str
    index: int  # position in the document
    headings: list[str]  # heading path from the top level down; empty before the first heading
    section_part: int  # 0 for the first chunk of its section
    units: list[Block] = field(default_factory=list)  # paragraphs and clauses, in order
    token_count: int = 0

    @property
    def text(self) -> str:
        parts: list[str] = []
        for position, unit in enumerate(self.units):
            if position > 0:
                in_list = unit.kind == "clause" and self.units[position - 1].kind == "clause"
                parts.append("\n" if in_list else "\n\n")
            parts.append(unit.text)
        return "".join(parts)

    @property
    def heading(self) -> str | None:
        return self.headings[-1] if self.headings else None


def split_blocks(text: str) -> list[Block]:
    """Parse text into headings (Markdown ATX and underlined), paragraphs and list or numbered clauses."""
    blocks: list[Block] = []
    current: list[str] = []
    current_kind = "paragraph"

    def flush() -> None:
        nonlocal current, current_kind
        joined = " ".join(line.strip() for line in current).strip()
        if joined:
            blocks.append(Block(current_kind, joined))
        current, current_kind = [], "paragraph"

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.strip()
        atx = _ATX_HEADING.match(stripped)
        if not stripped:
            flush()
        elif atx:
            flush()
            blocks.append(Block("heading", atx.group(2).strip(), level=len(atx.group(1))))
        elif _SETEXT_UNDERLINE.match(stripped) and len(current) == 1 and current_kind == "paragraph":
            blocks.append(Block("heading", current[0].strip(), level=1 if stripped[0] == "=" else 2))
            current = []
        elif _SETEXT_UNDERLINE.match(stripped):
            flush()  # a thematic break, or an underline below a paragraph of several lines
        elif CLAUSE_START.match(line) or GLOSSARY_LINE.match(line):
            flush()
            current, current_kind = [stripped], "clause"
        else:
            current.append(stripped)
    flush()
    return blocks


def split_sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in SENTENCE_END.split(text) if sentence.strip()]


def _split_words(text: str, count_tokens: CountTokens, max_tokens: int) -> list[str]:
    pieces: list[str] = []
    words: list[str] = []
    used = 0
    for word in text.split():
        cost = count_tokens(" " + word)
        if words and used + cost > max_tokens:
            pieces.append(" ".join(words))
            words, used = [], 0
        words.append(word)
        used += cost
    if words:
        pieces.append(" ".join(words))
    return pieces


def _fit_unit(text: str, count_tokens: CountTokens, max_tokens: int) -> list[tuple[str, int]]:
    """Return the unit as (piece, token count) pairs of at most ``max_tokens`` tokens; one longer word stays whole."""
    tokens = count_tokens(text)
    if tokens <= max_tokens:
        return [(text, tokens)]
    pieces: list[tuple[str, int]] = []
    for sentence in split_sentences(text):
        parts = [sentence] if count_tokens(sentence) <= max_tokens else _split_words(sentence, count_tokens, max_tokens)
        for part in parts:
            part_tokens = count_tokens(part)
            if pieces and pieces[-1][1] + 1 + part_tokens <= max_tokens:
                pieces[-1] = (pieces[-1][0] + " " + part, pieces[-1][1] + 1 + part_tokens)
            else:
                pieces.append((part, part_tokens))
    return pieces


def chunk_document(document_id: str, text: str, count_tokens: CountTokens, max_tokens: int) -> list[Chunk]:
    """Split one document into chunks of at most about ``max_tokens`` tokens (joiners add a token each)."""
    chunks: list[Chunk] = []
    headings: list[str] = []
    section_part = 0
    current: Chunk | None = None

    def close() -> None:
        nonlocal current, section_part
        if current is not None and current.units:
            chunks.append(current)
            section_part += 1
        current = None

    for block in split_blocks(text):
        if block.kind == "heading":
            close()
            headings = [*headings[: block.level - 1], block.text]
            section_part = 0
            continue
        for piece, piece_tokens in _fit_unit(block.text, count_tokens, max_tokens):
            if current is not None and current.token_count + 1 + piece_tokens > max_tokens:
                close()
            if current is None:
                current = Chunk(document_id, len(chunks), list(headings), section_part)
            current.units.append(Block(block.kind, piece))
            current.token_count += piece_tokens + (1 if len(current.units) > 1 else 0)
    close()
    return chunks
