"""The operators' CLI (`python cli.py`): one click group per noun, wired in cli.py."""
