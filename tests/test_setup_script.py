"""scripts/setup.sh, the one set-up used by `make run`, the Dockerfile and compose.yaml: run for real with
the fake embedder and no language model (models step a no-op), on both stores; and the three callers
checked to call it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "setup.sh"
VRAAGBAAK = ROOT / ".venv" / "bin" / "vraagbaak"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "VRAAGBAAK": str(VRAAGBAAK), "VRAAGBAAK_EMBEDDER": "fake", "VRAAGBAAK_GENERATOR": "none",
            "VRAAGBAAK_CORPUS_DIR": str(tmp_path / "corpus"), "VRAAGBAAK_INDEX_DIR": str(tmp_path / "index"),
            "VRAAGBAAK_CACHE_DIR": str(tmp_path / "cache"), **extra}


@pytest.mark.parametrize("store", ["faiss", "qdrant"])
def test_setup_builds_the_index_then_finds_it_up_to_date(tmp_path: Path, store: str) -> None:
    if not VRAAGBAAK.exists():
        pytest.skip("needs the project venv (make install)")
    shutil.copytree(ROOT / "tests" / "data" / "corpus", tmp_path / "corpus")
    env = _env(tmp_path, VRAAGBAAK_STORE=store, VRAAGBAAK_QDRANT_PATH=str(tmp_path / "qdrant"))
    first = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "3 documenten" in first.stdout and "opnieuw ge-embed" in first.stdout
    assert ("Qdrant-collectie vraagbaak-fake-256" in first.stdout) == (store == "qdrant")
    assert (tmp_path / "index" / "manifest.json").exists()
    again = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "ongewijzigd, niets te doen" in again.stdout


def test_setup_refuses_unknown_arguments() -> None:
    result = subprocess.run([str(SCRIPT), "--serv"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and "unknown argument --serv" in result.stderr


def test_make_run_the_image_and_compose_all_use_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    run = makefile[makefile.index("\nrun:"):].split("\n\n")[0]
    assert "scripts/setup.sh --serve" in run
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert "RUN scripts/setup.sh\n" in dockerfile and 'CMD ["scripts/setup.sh", "--serve"]' in dockerfile
    compose = (ROOT / "compose.yaml").read_text("utf-8")
    assert "scripts/setup.sh" in compose and "VRAAGBAAK_STORE: qdrant" in compose


def test_llama_cpp_is_built_for_any_avx2_cpu_and_never_taken_from_the_wheel_cache() -> None:
    """A native build (-march=native) on a CPU that advertises AMX its hypervisor does not enable died with
    "Illegal instruction" at the first token; a wheel cached by such a build would come back on the next
    install. `make install` builds llama-cpp-python first, portably and without the cache; so does the image."""
    plan = subprocess.run(["make", "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          check=True).stdout.replace("\\\n", " ").splitlines()  # continued lines joined
    llama = next(i for i, line in enumerate(plan) if "llama-cpp-python" in line and "pip install" in line)
    assert 'CMAKE_ARGS="-DGGML_NATIVE=OFF"' in plan[llama] and "--no-cache-dir" in plan[llama]
    rest = next(i for i, line in enumerate(plan) if '-e ".[dev]"' in line)
    assert llama < rest  # built before anything else can pull it in from the cache
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    assert dockerfile.index("CMAKE_ARGS=-DGGML_NATIVE=OFF") < dockerfile.index("pip install")
