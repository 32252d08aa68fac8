"""Builds a tiny BLIP captioning model (random, seeded weights) and saves it with `save_pretrained`, so
tests load it back through `import_caption_model` / `resolve_caption_model` / `Captioner` exactly like the
real Salesforce weights: config.json + model.safetensors + BERT WordPiece tokenizer + BlipImageProcessor.

The captions are word salad (random weights); what the tests need is that they are non-empty,
deterministic and independent of batching. Used by tests and benchmarks, so no pytest here.
"""

from __future__ import annotations

from pathlib import Path

TINY_IMAGE_SIZE = 64
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Real BLIP uses bert-base-uncased + [DEC] (bos, starts every caption) and [ENC]; same layout here.
EXTRA = ["[DEC]", "[ENC]"]
_WORDS_TEXT = """
a an the of and in on at with to from by for under over near behind next front top side
is are sitting standing lying walking running holding looking flying playing riding eating
man woman person people child children boy girl baby family group crowd player
dog cat bird horse cow sheep bear elephant giraffe zebra fish duck
car bus truck train bicycle motorcycle boat plane airplane road street sidewalk bridge
house building church tower city town village window door wall roof fence
tree trees forest grass field flower flowers garden park mountain mountains hill hills rock rocks
beach sea ocean lake river water wave waves sand sky cloud clouds sun sunset sunrise snow ice rain
table chair bed couch room kitchen bathroom floor plate bowl cup glass food pizza cake bread fruit
red blue green yellow white black brown orange pink purple gray grey dark light bright colorful
large small big little old young tall long short close view picture photo image painting
two three four several many some one other its their his her this that there it
day night morning evening winter summer autumn spring outdoor indoor background foreground
shirt hat dress jacket umbrella bag ball kite sign light lights pole clock phone book computer
"""
WORDS = _WORDS_TEXT.split()


def write_vocab(path: Path) -> Path:
    words = list(dict.fromkeys(WORDS))  # unique, order kept: the token ids stay stable
    path.write_text("\n".join(SPECIAL + words + EXTRA) + "\n", encoding="utf-8")
    return path


def make_tiny_blip(directory: Path, seed: int = 0) -> Path:
    """Save a tiny BlipForConditionalGeneration + BlipProcessor into `directory`; return it."""
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory / "vocab.txt")
    tokenizer = BertTokenizer(
        vocab=str(vocab), do_lower_case=True, bos_token="[DEC]", additional_special_tokens=["[ENC]"]
    )
    ids = tokenizer.convert_tokens_to_ids
    config = BlipConfig(
        vision_config={
            "image_size": TINY_IMAGE_SIZE,
            "patch_size": 16,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "projection_dim": 32,
        },
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "projection_dim": 32,
            # the same token roles as the real checkpoint: [DEC] starts, [SEP] ends, [PAD] pads
            "bos_token_id": ids("[DEC]"),
            "sep_token_id": ids("[SEP]"),
            "eos_token_id": ids("[SEP]"),
            "pad_token_id": ids("[PAD]"),
        },
        projection_dim=32,
        image_text_hidden_size=32,
    )
    torch.manual_seed(seed)
    model = BlipForConditionalGeneration(config).eval()
    # BLIP's random init is tiny (vision 1e-10, text 0.02): the decoder would ignore the image and every
    # photo would get the same caption. Re-draw the matrices at a visible scale so images differ.
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    image_processor = BlipImageProcessor(size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE})
    BlipProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    model.save_pretrained(directory)
    return directory
