"""TextTokenizer: BERT-uncased WordPiece encoding, no-text rows, truncation, files, round trips."""
import pickle

import pytest
import torch

from allinone.text import TextTokenizer, TokenizerError

# A hand-written BERT-format vocabulary: id = line index.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
         "the", "red", "car", "dog", "on", "grass", "run", "##ning", "un", "##want", "##ed",
         "cafe", ",", ".", "a", "##s", "fly", "##ing", "bird"]
ID = {tok: i for i, tok in enumerate(VOCAB)}
PAD, UNK, CLS, SEP = 0, 1, 2, 3


def write_vocab(path, tokens=VOCAB):
    path.write_text("".join(t + "\n" for t in tokens), encoding="utf-8")
    return path


@pytest.fixture
def tok(tmp_path):
    return TextTokenizer.from_file(write_vocab(tmp_path / "vocab.txt"))


def expected_row(tokens, max_len=40):
    ids = [CLS] + [ID[t] for t in tokens] + [SEP]
    return ids + [PAD] * (max_len - len(ids)), [1] * len(ids) + [0] * (max_len - len(ids))


def test_encode_exact_ids_and_mask(tok):
    ids, mask = tok.encode("The Red car")
    want_ids, want_mask = expected_row(["the", "red", "car"])
    assert ids.shape == mask.shape == (1, 40)
    assert ids.dtype == mask.dtype == torch.long
    assert ids[0].tolist() == want_ids
    assert mask[0].tolist() == want_mask
    assert (tok.pad_id, tok.cls_id, tok.sep_id, tok.vocab_size, tok.max_len) == (0, 2, 3, len(VOCAB), 40)


def test_wordpiece_unknown_and_normalisation(tok):
    ids, _ = tok.encode("unwanted running")  # unseen words split greedily into ## pieces
    assert ids[0, :7].tolist() == [CLS, ID["un"], ID["##want"], ID["##ed"], ID["run"], ID["##ning"], SEP]
    ids, _ = tok.encode("the zebra")  # no piece sequence spells "zebra"
    assert ids[0, :4].tolist() == [CLS, ID["the"], UNK, SEP]
    ids, _ = tok.encode("THE CAFÉ, Dogs.")  # lower-cased, accent stripped, punctuation split
    assert ids[0, :8].tolist() == [CLS, ID["the"], ID["cafe"], ID[","], ID["dog"], ID["##s"], ID["."], SEP]
    assert tok.tokenize("Flying birds") == ["fly", "##ing", "bird", "##s"]
    assert tok.decode(ids[0]) == "the cafe, dogs."


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n ", "\x00\x07"])
def test_no_text_is_all_zero(tok, text):
    ids, mask = tok.encode(text)
    assert ids.shape == (1, 40)
    assert not ids.any() and not mask.any()


def test_batch_mixes_text_and_none(tok):
    ids, mask = tok.encode(["red car", None, "", "a dog on grass"])
    assert ids.shape == (4, 40)
    assert ids[0].tolist() == expected_row(["red", "car"])[0]
    assert not ids[1].any() and not mask[1].any() and not ids[2].any() and not mask[2].any()
    assert ids[3].tolist() == expected_row(["a", "dog", "on", "grass"])[0]
    assert mask.sum(dim=1).tolist() == [4, 0, 0, 6]
    assert tok.decode(ids) == ["red car", "", "", "a dog on grass"]
    empty_ids, empty_mask = tok.encode([])
    assert empty_ids.shape == empty_mask.shape == (0, 40)


def test_long_text_is_truncated(tok):
    ids, mask = tok.encode(" ".join(["red", "car"] * 100))
    assert ids.shape == (1, 40)
    assert mask.all()
    last = int(mask[0].sum()) - 1
    assert ids[0, 0] == CLS and ids[0, last] == SEP
    assert (ids[0, 1:last] != SEP).all()


def test_other_max_len(tmp_path):
    short = TextTokenizer.from_file(write_vocab(tmp_path / "vocab.txt"), max_len=5)
    ids, mask = short.encode(["red car", "the red car on grass"])
    assert ids.tolist() == [[CLS, ID["red"], ID["car"], SEP, PAD],
                            [CLS, ID["the"], ID["red"], ID["car"], SEP]]
    assert mask.tolist() == [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]]
    with pytest.raises(TokenizerError, match="max_len"):
        TextTokenizer.from_file(tmp_path / "vocab.txt", max_len=2)


@pytest.mark.parametrize("bad", [3, b"red car", ["red", 7], {"red"}])
def test_non_string_input_raises(tok, bad):
    with pytest.raises(TokenizerError):
        tok.encode(bad)


SENTENCES = ["The Red car", None, "unwanted running dogs, zebra", "red " * 60, "Café"]


def assert_same_encodings(a, b):
    for x, y in zip(a.encode(SENTENCES), b.encode(SENTENCES)):
        assert torch.equal(x, y)


def test_json_round_trips(tok, tmp_path):
    path = tok.save(tmp_path / "tokenizer.json")
    assert path.name == "tokenizer.json"
    assert_same_encodings(tok, TextTokenizer.from_file(path))
    assert_same_encodings(tok, TextTokenizer.from_json_str(tok.to_json_str()))
    assert TextTokenizer.from_json_str(tok.to_json_str()).to_json_str() == tok.to_json_str()
    assert_same_encodings(tok, pickle.loads(pickle.dumps(tok)))


def test_vocab_txt_round_trip_and_directories(tok, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    txt = tok.save(out / "vocab.txt")
    assert txt.read_text(encoding="utf-8").split("\n")[:6] == VOCAB[:6]
    assert_same_encodings(tok, TextTokenizer.from_file(out))  # directory with vocab.txt only
    # a directory holding both prefers tokenizer.json (max_len there is the caller's choice)
    (out / "vocab.txt").write_text("garbage\n", encoding="utf-8")
    assert tok.save(out) == out / "tokenizer.json"
    assert_same_encodings(tok, TextTokenizer.from_file(out))
    with pytest.raises(TokenizerError, match="suffix"):
        tok.save(tmp_path / "tokenizer.bin")


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nowhere" / "vocab.txt"
    with pytest.raises(TokenizerError, match="no such file") as info:
        TextTokenizer.from_file(missing)
    assert str(missing) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(TokenizerError, match="neither"):
        TextTokenizer.from_file(tmp_path)  # empty directory


def test_vocab_missing_cls_names_it(tmp_path):
    path = write_vocab(tmp_path / "vocab.txt", [t for t in VOCAB if t != "[CLS]"])
    with pytest.raises(TokenizerError, match=r"\[CLS\]") as info:
        TextTokenizer.from_file(path)
    assert str(path) in str(info.value)


def test_bad_vocab_contents(tmp_path):
    path = write_vocab(tmp_path / "vocab.txt", ["[UNK]", "[PAD]", "[CLS]", "[SEP]"])
    with pytest.raises(TokenizerError, match=r"\[PAD\] has id 1"):
        TextTokenizer.from_file(path)
    path = write_vocab(tmp_path / "vocab.txt", VOCAB + ["red"])
    with pytest.raises(TokenizerError, match="duplicate"):
        TextTokenizer.from_file(path)
    path = tmp_path / "tokenizer.json"
    path.write_text('{"model": {"type": "BPE", "vocab": {}, "merges": []}}', encoding="utf-8")
    with pytest.raises(TokenizerError, match="not WordPiece"):
        TextTokenizer.from_file(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(TokenizerError, match="not valid JSON"):
        TextTokenizer.from_file(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TokenizerError, match="UTF-8"):
        TextTokenizer.from_file(path)
