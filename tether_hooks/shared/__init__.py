"""Several machines, one bot: a shared store on Redis (``[shared]`` in config.toml).

Imported only by the listener and the CLI, never by a hook: a hook talks to its own
machine's listener (the *station*), which forwards its requests to Redis and applies the
decisions written there for it. One station, elected with an expiring Redis lock, is the
*leader*: it alone holds the chat connections and serves every machine's requests.

Trust: whoever can write to that Redis can approve anything on every machine. It is as
sensitive as a bot token: a password (or ACL user) is required, TLS is preferred, and only
what chat would show goes there (tool inputs redacted as for chat; no token, no transcript
path, no audit log). Keys: ``keys.Keys``.
"""
