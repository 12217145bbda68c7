"""The web edge: OpenAI-compatible API, embeddable widget, staff auth, and the handlers the Gradio UI calls.

`create_app(runtime, demo)` (in `server`) builds the one FastAPI server; app.py builds the Blocks.
Nothing here imports gradio or loads a model at import time.
"""
