"""Local stand-ins for pretrained checkpoints: BERT folders of a given shape with random weights.

The Hub is out of reach in tests and CI, so the code paths that load a pretrained model are
exercised on a folder built here: same architecture and sizes as AraBERT, a WordPiece
tokenizer made from the given texts, random weights. Speed and memory measured on it are
those of the real model; its predictions mean nothing.
"""

from __future__ import annotations

from pathlib import Path

from training.config import ModelConfig

SHAPES = {  # hidden, layers, heads, intermediate, vocabulary (AraBERT v0.2 base has 64k)
    "arabert-base": (768, 12, 12, 3072, 64000),
    "arabert-large": (1024, 24, 16, 4096, 64000),
    "small": (256, 4, 4, 1024, 8000),  # configs/pretrain_small.yaml's encoder
    "tiny": (128, 2, 2, 256, 4000),
}


def build_local_bert(out_dir: str | Path, texts: list[str], shape: str = "arabert-base", seed: int = 0) -> Path:
    """Write a BertForMaskedLM folder (like a Hub base checkpoint) with random weights; return it."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from training.model.modeling import build_tiny_model

    hidden, layers, heads, intermediate, vocab = SHAPES[shape]
    _, tokenizer = build_tiny_model(texts, ModelConfig(name_or_path="tiny", tiny_vocab_size=min(vocab, 30000)), seed)
    config = BertConfig(vocab_size=max(vocab, len(tokenizer)), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate, max_position_embeddings=512)
    torch.manual_seed(seed)
    model = BertForMaskedLM(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out_dir)
    return out_dir
