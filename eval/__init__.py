"""Evaluation: metrics over QA files in the dev.jsonl format, and the harness that reports them."""
