"""tether-hooks: approve Claude Code and Codex tool calls from your phone.

Every hook call imports this package, so it imports nothing.
"""

__version__ = "0.1.0"
