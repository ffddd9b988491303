"""The ``tiny-random-llama`` base model: a small Llama with random weights, for tests and trials.

Its tokenizer is a byte-level BPE trained on ``assets/tiny_corpus.txt``. The trained
``assets/tokenizer.json`` ships with the package, so every machine gets the same token ids.
Regenerate it after changing the corpus or the settings below with::

    python -m alignd.catalog.tiny
"""

from pathlib import Path

ASSETS_DIR = Path(__file__).parent / "assets"
CORPUS_PATH = ASSETS_DIR / "tiny_corpus.txt"
TOKENIZER_PATH = ASSETS_DIR / "tokenizer.json"

VOCAB_SIZE = 2048
BOS_TOKEN = "<|endoftext|>"
EOS_TOKEN = "<|im_end|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = [BOS_TOKEN, "<|im_start|>", EOS_TOKEN, PAD_TOKEN]

# ChatML, the format SmolLM2-Instruct uses too.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# These sizes give about 3.1 million parameters. A LoRA step on 4 x 256 tokens took 0.2 to 1.3 seconds
# on a busy 2-core CPU machine.
HIDDEN_SIZE = 256
INTERMEDIATE_SIZE = 512
NUM_LAYERS = 4
NUM_HEADS = 4
CONTEXT_LENGTH = 1024
WEIGHT_SEED = 0


def train_tokenizer(corpus: str):  # type: ignore[no-untyped-def]
    """Train the byte-level BPE tokenizer on ``corpus``; return a ``tokenizers.Tokenizer``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus.splitlines(), trainer=trainer)
    return tokenizer


def load_tokenizer():  # type: ignore[no-untyped-def]
    """Load the shipped tokenizer as a transformers tokenizer with its chat template and special tokens."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=str(TOKENIZER_PATH),
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        pad_token=PAD_TOKEN,
        chat_template=CHAT_TEMPLATE,
        model_max_length=CONTEXT_LENGTH,
    )


def build_checkpoint(target_dir: Path) -> None:
    """Write the model (random weights from a fixed seed) and its tokenizer into ``target_dir``."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN_SIZE,
        intermediate_size=INTERMEDIATE_SIZE,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=NUM_HEADS,
        num_key_value_heads=NUM_HEADS,
        max_position_embeddings=CONTEXT_LENGTH,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )

    # Seeding, then restoring, the global RNG fixes the weights and leaves the caller's random state as it was.
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(WEIGHT_SEED)
    try:
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )

    model.save_pretrained(target_dir)
    tokenizer.save_pretrained(target_dir)


def main() -> None:
    tokenizer = train_tokenizer(CORPUS_PATH.read_text(encoding="utf-8"))
    tokenizer.save(str(TOKENIZER_PATH), pretty=True)
    print(f"Wrote {TOKENIZER_PATH} with {tokenizer.get_vocab_size()} tokens.")


if __name__ == "__main__":
    main()
