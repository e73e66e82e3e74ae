"""build_vocab / build_vocab_from_files / default_tokenizer: WordPiece vocabularies from text."""
import re

import pytest

from allinone.text import (TextTokenizer, TokenizerError, build_vocab, build_vocab_from_files,
                           default_corpus, default_tokenizer)

CORPUS = [
    "the black dog running on the grass",
    "a white airplane flying in the blue sky",
    "the person in a red shirt walking on the left side of the road",
    "Zoë's kayak, near the quay!",
    "the second car from the right, number 7",
] * 3

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_specials_first_and_size_bound():
    tok = build_vocab(CORPUS, vocab_size=120)
    vocab = tok.get_vocab()
    assert [vocab[s] for s in SPECIALS] == [0, 1, 2, 3, 4]
    assert tok.vocab_size <= 120
    assert sorted(vocab.values()) == list(range(tok.vocab_size))


@pytest.mark.parametrize("vocab_size", [80, 8192])
def test_in_corpus_text_has_no_unk(vocab_size):
    tok = build_vocab(CORPUS, vocab_size=vocab_size, min_frequency=2)
    ids, mask = tok.encode(CORPUS)
    assert mask[:, 0].all()
    assert not (ids == tok.unk_id).any()
    # unseen words made of corpus letters split into pieces, never [UNK]
    unseen, _ = tok.encode("a quick brown dragon")
    assert not (unseen == tok.unk_id).any()
    assert tok.decode(ids[3]) == "zoe ' s kayak, near the quay!"  # BERT's decode spacing


def test_same_corpus_same_vocabulary():
    first, second = build_vocab(CORPUS, vocab_size=100), build_vocab(CORPUS, vocab_size=100)
    assert first.to_json_str() == second.to_json_str()


def test_build_vocab_errors():
    with pytest.raises(TokenizerError, match="too small"):
        build_vocab(CORPUS, vocab_size=20)
    with pytest.raises(TokenizerError, match="no text"):
        build_vocab(["", "  "])
    with pytest.raises(TokenizerError, match="one str"):
        build_vocab("the dog")
    with pytest.raises(TokenizerError, match="item 1"):
        build_vocab(["the dog", 3])


def test_build_vocab_from_files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(CORPUS[:3]) + "\n\n", encoding="utf-8")
    b.write_text("\n".join(CORPUS[3:5]), encoding="utf-8")
    tok = build_vocab_from_files([a, b], vocab_size=200)
    assert isinstance(tok, TextTokenizer)
    assert not (tok.encode(CORPUS)[0] == tok.unk_id).any()
    assert build_vocab_from_files(str(a), vocab_size=200).vocab_size <= 200
    with pytest.raises(TokenizerError, match="no such text file"):
        build_vocab_from_files([tmp_path / "missing.txt"])


def test_default_tokenizer_covers_tracking_words():
    corpus = default_corpus()
    words = {w for phrase in corpus for w in re.findall(r"[a-z]+", phrase.lower())}
    assert len(words) >= 300
    for w in ("red", "left", "bottom", "near", "far", "running", "flying", "person", "car", "dog",
              "airplane", "bird", "zebra", "giraffe"):
        assert w in words
    tok = default_tokenizer()
    assert default_tokenizer() is tok  # built once per process
    assert tok.vocab_size <= 8192
    ids, _ = tok.encode(corpus)
    assert not (ids == tok.unk_id).any()
    assert tok.tokenize("The black dog running on the grass") == "the black dog running on the grass".split()
