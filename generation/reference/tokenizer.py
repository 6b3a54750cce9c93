"""A word-level tokenizer for the shapes world, built offline (no download).

Ids: ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, then the world's words, and
``<eot>`` last, so that it has the highest id (open_clip's text tower pools at
the arg-max token, as OpenAI's CLIP does).
"""

from __future__ import annotations

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel
from transformers import PreTrainedTokenizerFast

from .world import vocabulary

__all__ = ["CONTEXT_LENGTH", "build_tokenizer", "vocab"]

CONTEXT_LENGTH = 20


def vocab() -> dict[str, int]:
    """Token -> id mapping (special tokens first, ``<eot>`` last)."""
    tokens = ["<pad>", "<unk>", "<bos>"] + vocabulary() + ["<eot>"]
    return {t: i for i, t in enumerate(tokens)}


def build_tokenizer(context_length: int = CONTEXT_LENGTH) -> PreTrainedTokenizerFast:
    """A ``transformers`` fast tokenizer: lower-cased, punctuation dropped, split on spaces,
    ``<bos> ... <eot>`` around each text, padded with ``<pad>`` to ``context_length``.

    Unknown words map to ``<unk>``; it saves and reloads with
    ``save_pretrained`` / ``AutoTokenizer.from_pretrained``.
    """
    v = vocab()
    tok = Tokenizer(WordLevel(v, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Lowercase(), normalizers.Replace(Regex(r"[^a-z\s]"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eot>", special_tokens=[("<bos>", v["<bos>"]), ("<eot>", v["<eot>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<bos>",
        eos_token="<eot>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=context_length,
    )
