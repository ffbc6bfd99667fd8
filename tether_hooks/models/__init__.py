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

from tether_hooks.models.health import (
    DOWN_STATES as DOWN_STATES,
)
from tether_hooks.models.health import (
    BridgeHealth as BridgeHealth,
)
from tether_hooks.models.health import (
    HealthState as HealthState,
)
from tether_hooks.models.health import (
    ListenerHealth as ListenerHealth,
)
from tether_hooks.models.health import (
    ListenerStatus as ListenerStatus,
)
from tether_hooks.models.health import (
    ListenerStop as ListenerStop,
)
from tether_hooks.models.health import (
    NoticeKind as NoticeKind,
)
from tether_hooks.models.health import (
    NoticeMessage as NoticeMessage,
)
from tether_hooks.models.health import (
    TaskHealth as TaskHealth,
)
from tether_hooks.models.health import (
    TaskState as TaskState,
)
from tether_hooks.models.payloads import (
    CodexNotify as CodexNotify,
)
from tether_hooks.models.payloads import (
    HookEventName as HookEventName,
)
from tether_hooks.models.payloads import (
    HookPayload as HookPayload,
)
from tether_hooks.models.payloads import (
    NotificationPayload as NotificationPayload,
)
from tether_hooks.models.payloads import (
    SessionEndPayload as SessionEndPayload,
)
from tether_hooks.models.payloads import (
    SessionStartPayload as SessionStartPayload,
)
from tether_hooks.models.payloads import (
    StopPayload as StopPayload,
)
from tether_hooks.models.payloads import (
    ToolPayload as ToolPayload,
)
from tether_hooks.models.payloads import (
    UserPromptPayload as UserPromptPayload,
)
from tether_hooks.models.settings import (
    Config as Config,
)
from tether_hooks.models.settings import (
    HookConfig as HookConfig,
)
from tether_hooks.models.settings import (
    OnTimeout as OnTimeout,
)
from tether_hooks.models.settings import (
    PlatformSection as PlatformSection,
)
from tether_hooks.models.settings import (
    Settings as Settings,
)
from tether_hooks.models.settings import (
    TelegramSection as TelegramSection,
)
from tether_hooks.models.stored import (
    JSON as JSON,
)
from tether_hooks.models.stored import (
    SETTLED_STATUSES as SETTLED_STATUSES,
)
from tether_hooks.models.stored import (
    AgentName as AgentName,
)
from tether_hooks.models.stored import (
    AuditEntry as AuditEntry,
)
from tether_hooks.models.stored import (
    AuditEvent as AuditEvent,
)
from tether_hooks.models.stored import (
    Behavior as Behavior,
)
from tether_hooks.models.stored import (
    ChatRef as ChatRef,
)
from tether_hooks.models.stored import (
    Decision as Decision,
)
from tether_hooks.models.stored import (
    DecisionExtra as DecisionExtra,
)
from tether_hooks.models.stored import (
    HookRequest as HookRequest,
)
from tether_hooks.models.stored import (
    PlatformName as PlatformName,
)
from tether_hooks.models.stored import (
    Question as Question,
)
from tether_hooks.models.stored import (
    QuestionOption as QuestionOption,
)
from tether_hooks.models.stored import (
    Request as Request,
)
from tether_hooks.models.stored import (
    RequestChat as RequestChat,
)
from tether_hooks.models.stored import (
    RequestStatus as RequestStatus,
)
from tether_hooks.models.stored import (
    Session as Session,
)
from tether_hooks.models.stored import (
    SessionStatus as SessionStatus,
)
from tether_hooks.models.stored import (
    SessionThread as SessionThread,
)
from tether_hooks.models.stored import (
    State as State,
)
from tether_hooks.models.stored import (
    StopRequest as StopRequest,
)
from tether_hooks.models.stored import (
    Timer as Timer,
)
from tether_hooks.models.stored import (
    TimerScope as TimerScope,
)
from tether_hooks.models.stored import (
    ToolInput as ToolInput,
)
from tether_hooks.models.stored import (
    Via as Via,
)
from tether_hooks.models.stored import (
    ViaSource as ViaSource,
)

__all__ = [
    "AgentName",
    "AuditEntry",
    "AuditEvent",
    "Behavior",
    "BridgeHealth",
    "ChatRef",
    "CodexNotify",
    "Config",
    "DOWN_STATES",
    "Decision",
    "DecisionExtra",
    "HealthState",
    "HookConfig",
    "HookEventName",
    "HookPayload",
    "HookRequest",
    "JSON",
    "ListenerHealth",
    "ListenerStatus",
    "ListenerStop",
    "NoticeKind",
    "NoticeMessage",
    "NotificationPayload",
    "OnTimeout",
    "PlatformName",
    "PlatformSection",
    "Question",
    "QuestionOption",
    "Request",
    "RequestChat",
    "RequestStatus",
    "SETTLED_STATUSES",
    "Session",
    "SessionEndPayload",
    "SessionStartPayload",
    "SessionStatus",
    "SessionThread",
    "Settings",
    "State",
    "StopPayload",
    "StopRequest",
    "TaskHealth",
    "TaskState",
    "TelegramSection",
    "Timer",
    "TimerScope",
    "ToolInput",
    "ToolPayload",
    "UserPromptPayload",
    "Via",
    "ViaSource",
]
