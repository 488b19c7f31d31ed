"""Vraagbaak service: retrieval, answers, the HTTP API and the command line."""
