"""Language-model generators: the protocol and stop handling (base), one module per backend (llama,
transformers, openai, scripted) and the factory that picks one from settings. The names below are the
package's public face."""

from service.models.generators.base import Generator, OnToken, cut_at_stop
from service.models.generators.factory import BACKENDS, DEFAULT_GGUF, make_generator
from service.models.generators.llama import LlamaCppGenerator
from service.models.generators.openai import OpenAIGenerator
from service.models.generators.scripted import ScriptedGenerator, ScriptExhausted
from service.models.generators.transformers import TransformersGenerator

__all__ = ["BACKENDS", "DEFAULT_GGUF", "Generator", "LlamaCppGenerator", "OnToken", "OpenAIGenerator",
           "ScriptExhausted", "ScriptedGenerator", "TransformersGenerator", "cut_at_stop", "make_generator"]
