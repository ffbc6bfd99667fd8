"""Placeholder: filled in by the codex harness."""
