"""The Slack front door: a bot that answers in the thread through the same QAService.

`blocks` (Block Kit rendering), `history` (a thread as chat history), `dedupe` (event ids seen),
`jobs` (bounded background answers, Dutch failure messages), `bot` (the listeners), `app` (the Bolt
app and its FastAPI routes), `socket` (Socket Mode), `manifest` (the Slack app manifest).
"""
