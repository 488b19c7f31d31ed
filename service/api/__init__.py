"""The HTTP front door: FastAPI app, request/response schemas, error shape, observability, the chat page."""
