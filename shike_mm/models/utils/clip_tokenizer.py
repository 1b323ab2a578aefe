"""CLIP's byte-pair tokenizer, as the ``open_clip_torch`` package ships it
(vocabulary included: nothing is downloaded)."""
from functools import lru_cache
from typing import Sequence

import torch

INSTALL_HINT = ('pip install "shike-mm[clip]" (or open_clip_torch), which '
                'ships the vocabulary with the package')


@lru_cache(maxsize=1)
def _tokenizer():
    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError as error:
        raise ImportError(
            'Tokenizing prompts for CLIP needs the CLIP tokenizer of '
            f'open_clip_torch ({error}): {INSTALL_HINT}') from error
    return SimpleTokenizer()


def clip_tokenize(texts: Sequence[str],
                  context_length: int = 77) -> torch.Tensor:
    """Token ids of ``texts`` as CLIP's text tower takes them: the
    start-of-text token, the byte-pair tokens of the lower-cased, cleaned
    text, the end-of-text token, zeros after it.

    Args:
        texts (Sequence[str]): The texts.
        context_length (int): Tokens per text. Defaults to 77 (CLIP).

    Returns:
        Tensor: ``[N, context_length]`` int64 token ids.

    Raises:
        ValueError: A text is longer than ``context_length`` tokens (CLIP
            would truncate it silently).
    """
    tokenizer = _tokenizer()
    texts = list(texts)
    for text in texts:
        length = len(tokenizer.encode(text)) + 2
        if length > context_length:
            raise ValueError(
                f'The prompt {text!r} has {length} tokens, more than the '
                f'{context_length} of the text tower; shorten it')
    return tokenizer(texts, context_length=context_length)
