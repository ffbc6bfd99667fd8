"""Typed shapes of the data tether-hooks stores, reads and passes around.

Stdlib ``typing`` only and nothing else: cheap to import. The hook fast path imports this
module only under ``if TYPE_CHECKING:``; everything else may import it freely.

Stored state (``state.json``, written only by ``store.Store``; see ``state.py``)::

    State = {"schema": 1, "timers": {id: Timer}, "requests": {id: Request},
             "sessions": {id: Session}}

A request is ``pending`` until settled once (``lifecycle.settle``); its ``decision``
says how (``behavior``), by whom (``by``) and through what (``via``). The Literals below
list every value the code writes; ``tests/unit/test_models.py`` fails when the code
writes a value that is not listed here.

Most TypedDicts are ``total=False``: records grow over their life (a request gets its id,
decision and chat record later) and old state files may lack newer keys; readers use
``.get`` for what may be absent.
"""

from __future__ import annotations

from tether_hooks.models import health, payloads, settings, stored
from tether_hooks.models.health import *  # noqa: F403  (each submodule's __all__)
from tether_hooks.models.payloads import *  # noqa: F403
from tether_hooks.models.settings import *  # noqa: F403
from tether_hooks.models.stored import *  # noqa: F403

__all__ = [*health.__all__, *payloads.__all__, *settings.__all__, *stored.__all__]
