"""Text input: BERT-style uncased WordPiece tokenizer and vocabulary building (SPEC §2)."""
from .tokenizer import TextTokenizer, TokenizerError
from .vocab import build_vocab, build_vocab_from_files, default_corpus, default_tokenizer

__all__ = ["TextTokenizer", "TokenizerError", "build_vocab", "build_vocab_from_files",
           "default_corpus", "default_tokenizer"]
