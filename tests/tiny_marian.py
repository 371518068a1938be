"""Build a tiny, randomly initialised MarianMT translation model offline, for tests.

The model translates nothing meaningful, but it has a real sentencepiece
tokenizer, real Marian weights and a generation config, so the code around
translation (loading, batching, truncation, decoding) runs for real. Building
one takes about a second and writes about 0.5 MB.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

TRAINING_SENTENCES: tuple[str, ...] = (
    "The drug is rapidly absorbed after oral administration.",
    "Peak plasma concentrations are reached within 2 hours.",
    "Food delays absorption but does not change the extent.",
    "The volume of distribution is about 0.5 L/kg.",
    "Plasma protein binding is approximately 95 percent.",
    "It is metabolised in the liver by CYP3A4 and CYP2D6.",
    "The main metabolite is inactive.",
    "About 60 percent of the dose is excreted in urine.",
    "The elimination half-life is 12 hours in healthy adults.",
    "Renal clearance decreases in patients with kidney disease.",
    "Der Wirkstoff wird schnell resorbiert.",
    "Препарат быстро всасывается после приема внутрь.",
)


def build_tiny_marian(
    folder: str | Path,
    *,
    sentences: Sequence[str] = TRAINING_SENTENCES,
    max_positions: int = 64,
    max_new_length: int = 24,
    seed: int = 0,
) -> Path:
    """Write a tiny Marian model and tokenizer to ``folder`` and return the folder.

    ``max_positions`` is the model's position limit in tokens, so an input longer
    than that crashes the model unless the caller truncates it. ``max_new_length``
    bounds generated outputs.
    """
    import sentencepiece as spm
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    model_bytes = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(sentences) * 4), model_writer=model_bytes, vocab_size=120,
        model_type="unigram", hard_vocab_limit=False, character_coverage=1.0,
        bos_id=-1, eos_id=1, unk_id=0, pad_id=-1,
    )
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes(model_bytes.getvalue())

    processor = spm.SentencePieceProcessor(model_proto=model_bytes.getvalue())
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        if piece not in vocab and piece not in ("<s>",):
            vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    tokenizer = MarianTokenizer(
        source_spm=str(folder / "source.spm"), target_spm=str(folder / "target.spm"),
        vocab=str(folder / "vocab.json"), model_max_length=max_positions,
    )
    tokenizer.save_pretrained(folder)

    pad_id = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_position_embeddings=max_positions, pad_token_id=pad_id, eos_token_id=0,
        decoder_start_token_id=pad_id, forced_eos_token_id=0,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(
        max_length=max_new_length, num_beams=1, do_sample=False, bad_words_ids=[[pad_id]],
        pad_token_id=pad_id, eos_token_id=0, decoder_start_token_id=pad_id,
    )
    model.save_pretrained(folder)
    return folder
