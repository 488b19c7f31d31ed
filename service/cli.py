"""The `vraagbaak` command: index, search, setup (and later ask, serve, eval).

Reads Settings once, turns arguments into plain values, calls the library, and turns a
VraagbaakError into one line on stderr with exit code 2. Heavy imports happen inside subcommands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.config import Settings
from service.errors import VraagbaakError


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import BuildConfig, build_index
    from service.config import qdrant_location
    from service.models.embedder import load_embedder

    embedder = load_embedder(settings.embedder, settings.cache_dir, settings.embed_bf16)
    cfg = BuildConfig(corpus=Path(args.corpus or settings.corpus_dir), out=Path(args.out or settings.index_dir),
                      cache_dir=settings.cache_dir, chunk_tokens=settings.chunk_tokens,
                      chunk_overlap=settings.chunk_overlap, faiss_kind=settings.faiss_kind,
                      qdrant=qdrant_location(settings, embedder.name),
                      questions=settings.questions_dir if settings.questions_dir.is_dir() else None)
    result = build_index(cfg, embedder, progress=not args.quiet, force=args.force)
    state = "ongewijzigd, niets te doen" if result.skipped else f"{result.embedded} chunks opnieuw ge-embed"
    where = f" + Qdrant-collectie {cfg.qdrant.collection}" if cfg.qdrant else ""
    asked = f", geen zinsvragen: map {settings.questions_dir} ontbreekt" if cfg.questions is None else (
        f", {result.manifest['question_count']} zinsvragen" if "question_count" in result.manifest else "")
    print(f"index: {result.documents} documenten, {result.chunks} chunks{asked}, {result.seconds:.1f} s "
          f"({state}) -> {cfg.out}{where}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    import json
    from dataclasses import asdict

    from service.qa.pipeline import load_retriever
    from service.qa.retrieval import validate_query

    validate_query(args.query)  # fail fast, before loading models
    filters = {k: v for k, v in (("doc_id", args.doc), ("year", args.year)) if v}
    hits = load_retriever(settings).search(args.query, k=args.k, filters=filters)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("geen resultaten")
    for i, h in enumerate(hits, 1):
        where = f"{h.title}" + (f" — {h.section}" if h.section else "") + (f" (p. {h.page})" if h.page else "")
        print(f"{i:>2}. [{h.score:.4f}] {where}  ({'+'.join(h.retrievers)})")
        snippet = " ".join(h.text.split())
        print(f"    {snippet[:300]}{'…' if len(snippet) > 300 else ''}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from service.qa.pipeline import load_pipeline
    from service.qa.retrieval import validate_query

    validate_query(args.question)  # fail fast, before loading models
    if args.mode == "extractive":
        settings = settings.model_copy(update={"generator": "none"})
    answer = load_pipeline(settings).ask(args.question, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(answer.answer)
    if answer.citations:
        print("\nBronnen:")
    for c in answer.citations:
        where = c.title + (f", p. {c.page}" if c.page else "") + (f" — {c.section}" if c.section else "")
        print(f"[{c.n}] {where}\n    “{c.quote}”")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from service.api.app import serve

    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    if args.slack_command == "manifest":
        import json

        from service.slack.manifest import manifest

        try:
            print(json.dumps(manifest(args.url, args.name, socket=args.manifest_socket), ensure_ascii=False, indent=2))
        except ValueError:
            raise VraagbaakError("geef de publieke URL met --url (of kies --socket voor Socket Mode)") from None
        return 0
    if not args.socket:
        raise VraagbaakError("de Slack-routes draaien in 'vraagbaak serve' (met SLACK_BOT_TOKEN en "
                             "SLACK_SIGNING_SECRET); gebruik 'vraagbaak slack --socket' voor Socket Mode")
    import asyncio
    import logging

    from service.slack.socket import run_socket_mode

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run_socket_mode(settings))
    return 0


def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from service.feedback import FeedbackStore, export_qa

    if not settings.feedback_db.is_file():
        raise VraagbaakError(f"nog geen feedback opgeslagen: {settings.feedback_db} bestaat niet")
    rating = None if args.rating == "all" else args.rating
    n = export_qa(FeedbackStore(settings.feedback_db), args.out, rating)
    print(f"feedback: {n} vragen ({args.rating}) -> {args.out}")
    return 0


def cmd_setup(args: argparse.Namespace, settings: Settings) -> int:
    from service.models.e5convert import ensure_e5_model

    if settings.embedder == "e5-small":
        path = ensure_e5_model(settings.cache_dir / "models", progress=True)
        print(f"embedder klaar: {path}")
        if settings.query_onnx:
            from service.models.embedder import SentenceTransformerEmbedder

            onnx = SentenceTransformerEmbedder(path).export_query_onnx(settings.cache_dir / "models", progress=True)
            if settings.query_int8:
                from service.models.query_onnx import ensure_int8

                onnx = ensure_int8(onnx, progress=True)
            print(f"zoekvraag-encoder klaar: {onnx}")
    if settings.generator == "llama-cpp":
        from service.models.generators import DEFAULT_GGUF
        from service.models.gguf import GGUF_MODELS, ensure_gguf

        name = settings.generator_model or DEFAULT_GGUF
        if name in GGUF_MODELS:
            print(f"taalmodel klaar: {ensure_gguf(name, settings.cache_dir / 'models', progress=True)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vraagbaak", description="Vraagbaak: vragen over vredesmissierapporten.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index", help="bouw of ververs de index van het corpus")
    p.add_argument("--corpus", help="map met rapporten (.txt, .md, .pdf); standaard VRAAGBAAK_CORPUS_DIR")
    p.add_argument("--out", help="indexmap; standaard VRAAGBAAK_INDEX_DIR")
    p.add_argument("-q", "--quiet", action="store_true", help="geen voortgangsbalk")
    p.add_argument("--force", action="store_true", help="vervang een index die met een andere embedder is gebouwd")
    p.set_defaults(func=cmd_index)
    p = sub.add_parser("search", help="zoek passages in de rapporten")
    p.add_argument("query", help="vraag of zoektermen (Nederlands)")
    p.add_argument("-k", type=int, default=10, help="aantal resultaten (standaard 10)")
    p.add_argument("--doc", action="append", help="alleen dit document (doc_id; herhaalbaar)")
    p.add_argument("--year", action="append", type=int, help="alleen documenten uit dit jaar (herhaalbaar)")
    p.add_argument("--json", action="store_true", help="uitvoer als JSON")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("ask", help="stel een vraag; antwoord met bronvermelding")
    p.add_argument("question", help="de vraag (Nederlands)")
    p.add_argument("--mode", choices=["generate", "extractive"], help="standaard VRAAGBAAK_DEFAULT_MODE")
    p.add_argument("--json", action="store_true", help="uitvoer als JSON (zoals POST /v1/ask)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("serve", help="start de API en de chatpagina (standaard http://127.0.0.1:8000)")
    p.add_argument("--host", help="adres; standaard VRAAGBAAK_HOST (127.0.0.1)")
    p.add_argument("--port", type=int, help="poort; standaard VRAAGBAAK_PORT (8000)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("slack", help="de Slack-bot: Socket Mode (--socket) of het app-manifest")
    p.add_argument("--socket", action="store_true",
                   help="verbind via Socket Mode (SLACK_BOT_TOKEN en SLACK_APP_TOKEN); geen publieke URL nodig")
    p.set_defaults(func=cmd_slack, slack_command=None)
    slack = p.add_subparsers(dest="slack_command")
    m = slack.add_parser("manifest", help="druk een Slack-app-manifest af (JSON)")
    m.add_argument("--url", help="publieke basis-URL van 'vraagbaak serve', bv. https://vraagbaak.example.org")
    m.add_argument("--name", default="Vraagbaak", help="naam van de app in Slack")
    m.add_argument("--socket", dest="manifest_socket", action="store_true", help="manifest voor Socket Mode")
    p = sub.add_parser("feedback", help="feedback (👍/👎) op antwoorden")
    fb = p.add_subparsers(dest="feedback_command", required=True)
    e = fb.add_parser("export", help="schrijf beoordeelde vragen als QA-regels (formaat van dev.jsonl)")
    e.add_argument("--out", type=Path, required=True, help="uitvoerbestand (.jsonl)")
    e.add_argument("--rating", choices=["down", "up", "all"], default="down",
                   help="welke beoordelingen (standaard down)")
    e.set_defaults(func=cmd_feedback)
    p = sub.add_parser("setup", help="zet de modellen klaar (eenmalig, offline)")
    p.set_defaults(func=cmd_setup)
    from eval.cli import add_eval_parser

    add_eval_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args, Settings())
    except VraagbaakError as e:
        print(f"vraagbaak: fout: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vraagbaak: afgebroken", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
