"""Placeholder: filled in by the telegram harness."""
