"""Placeholder: filled in by the claude harness."""
