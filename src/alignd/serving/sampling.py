"""Next-token selection and the per-token statistics reported with every completion."""

import torch


def token_statistics(logits: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the probability of each chosen token and the entropy (nats) of each row.

    Both come from the model's own distribution (temperature 1, nothing cut off), so the
    confidence of an answer does not depend on the sampling parameters that produced it.
    """
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    probs = log_probs.exp()
    entropy = -(probs * log_probs).nan_to_num().sum(dim=-1)
    chosen = probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return chosen, entropy


def select_tokens(
    logits: torch.Tensor,
    temperature: float,
    top_p: float,
    top_k: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """Pick one token per row of ``logits`` (shape [rows, vocabulary])."""
    if temperature == 0.0:
        return logits.argmax(dim=-1)

    scores = logits.float() / temperature
    if top_k is not None and top_k < scores.shape[-1]:
        kth_best = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth_best, float("-inf"))
    if top_p < 1.0:
        sorted_scores, order = torch.sort(scores, dim=-1, descending=True)
        sorted_probs = torch.softmax(sorted_scores, dim=-1)
        # Drop a token when the tokens ranked above it already cover top_p, so the best token stays.
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
        drop_sorted = mass_before >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        scores = scores.masked_fill(drop, float("-inf"))

    probs = torch.softmax(scores, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator).squeeze(-1)
