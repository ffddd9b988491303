"""Tokenize examples and pack them into fixed-length blocks, so no step computes on padding.

Examples are concatenated into one token stream (each ends with the end-of-sequence
token) and cut into blocks of ``block_size`` tokens. The last block is filled up with
tokens from the start of the stream instead of padding. Attention crosses example
boundaries inside a block, as in the usual causal LM packing.
"""

import random

import torch
from torch.utils.data import Dataset

from alignd.training.dataset import Example

# Used when a checkpoint's tokenizer has no chat template of its own.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | capitalize + ': ' + message['content'] + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"
)


def ensure_chat_template(tokenizer) -> None:  # type: ignore[no-untyped-def]
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE


def tokenize_example(tokenizer, example: Example) -> list[int]:  # type: ignore[no-untyped-def]
    """Return the token ids of one example, ending with the eos token."""
    if example.kind == "pair":
        rendered = tokenizer.apply_chat_template(example.messages, tokenize=False)
        ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    else:
        ids = tokenizer(example.text)["input_ids"]
    if not ids or ids[-1] != tokenizer.eos_token_id:
        ids = [*ids, tokenizer.eos_token_id]
    return ids


def pack(token_lists: list[list[int]], block_size: int, seed: int) -> list[list[int]]:
    """Shuffle the examples (seeded), concatenate them and cut the stream into equal blocks.

    The block size shrinks to the stream length when the stream is shorter than one block.
    """
    order = list(range(len(token_lists)))
    random.Random(seed).shuffle(order)
    stream = [token for position in order for token in token_lists[position]]
    if not stream:
        return []
    size = min(block_size, len(stream))
    blocks = [stream[start : start + size] for start in range(0, len(stream), size)]
    if len(blocks[-1]) < size:
        blocks[-1] = blocks[-1] + stream[: size - len(blocks[-1])]
    return blocks


class PackedDataset(Dataset):
    """Blocks of token ids as causal LM training items (labels equal the inputs)."""

    def __init__(self, blocks: list[list[int]]) -> None:
        self.blocks = [torch.tensor(block, dtype=torch.long) for block in blocks]

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ids = self.blocks[index]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}

    @property
    def token_count(self) -> int:
        return sum(len(block) for block in self.blocks)
