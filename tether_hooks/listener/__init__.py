"""The background listener: one process owns every chat connection (see daemon, server,
dispatch). Hooks reach it through ``tether_hooks.relay`` and never import this package."""
