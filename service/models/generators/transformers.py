"""A transformers causal LM (a local folder or a GGUF file) as a generator, on CPU."""

from __future__ import annotations

import threading
from pathlib import Path

from service.errors import GeneratorError, VraagbaakError
from service.models.generators.base import OnToken, _emit_until_stop, cut_at_stop


class TransformersGenerator:
    """A transformers causal LM from a local folder or a GGUF file (`gguf_file=`), on CPU.

    Uses the tokenizer's chat template; greedy when temperature is 0. Streaming runs
    `model.generate` in a thread feeding a `TextIteratorStreamer`.
    """

    def __init__(self, path_or_gguf: str | Path) -> None:
        path = Path(path_or_gguf)
        if not path.exists():
            raise VraagbaakError(f"transformers-model niet gevonden: {path}")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        src, kw = (path.parent, {"gguf_file": path.name}) if path.suffix == ".gguf" else (path, {})
        self.name = path.stem if path.suffix == ".gguf" else path.name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True, **kw)
            self.model = AutoModelForCausalLM.from_pretrained(str(src), local_files_only=True, **kw).eval()
        except ImportError as e:  # GGUF loading needs the optional `gguf` (and `accelerate`) packages
            raise VraagbaakError(f"transformers kan {path} niet laden: {' '.join(str(e).split())}") from e
        self._lock = threading.Lock()

    def format_prompt(self, messages: list[dict]) -> str:
        """The prompt text the chat template makes of `messages`, ending with the assistant header."""
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer(self.format_prompt(messages), return_tensors="pt", add_special_tokens=False)
        pad = self.tokenizer.pad_token_id
        kw = dict(**inputs, max_new_tokens=max_tokens, do_sample=temperature > 0,
                  pad_token_id=self.tokenizer.eos_token_id if pad is None else pad)
        if temperature > 0:
            kw.update(temperature=temperature, top_k=0, top_p=1.0)
        if stop:
            kw.update(stop_strings=stop, tokenizer=self.tokenizer)
        with self._lock:
            if on_token is None:
                try:
                    out = self.model.generate(**kw)[0, inputs["input_ids"].shape[1]:]
                except (RuntimeError, ValueError, IndexError) as e:  # e.g. prompt too long for the model
                    raise GeneratorError(f"transformers ({self.name}): {e}") from e
                return cut_at_stop(self.tokenizer.decode(out, skip_special_tokens=True), stop)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            return self._stream(kw | {"streamer": streamer}, streamer, stop, on_token)

    def _stream(self, kw: dict, streamer, stop: list[str] | None, on_token: OnToken) -> str:
        import torch
        from transformers import StoppingCriteriaList

        failure: list[BaseException] = []
        cancel = threading.Event()  # set once the caller no longer wants tokens
        kw["stopping_criteria"] = StoppingCriteriaList(
            [lambda ids, scores, **_: torch.full((ids.shape[0],), cancel.is_set(), dtype=torch.bool)])

        def run() -> None:
            try:
                self.model.generate(**kw)
            except BaseException as e:  # handed to the caller's thread below
                failure.append(e)
                streamer.end()

        worker = threading.Thread(target=run, name="transformers-generate", daemon=True)
        worker.start()
        try:
            text = _emit_until_stop(iter(streamer), stop, on_token)
        finally:
            cancel.set()  # stop string seen, or on_token raised: stop generating at the next step
            worker.join()  # the streamer's queue is unbounded, so generate() never blocks on it
        if failure:
            raise GeneratorError(f"transformers ({self.name}): {failure[0]}") from failure[0]
        return text
