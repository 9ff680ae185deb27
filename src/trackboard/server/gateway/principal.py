"""Who is calling, and what they may touch: the result of authentication."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from trackboard.server.accounts.roles import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (or the open mode's implicit one).

    `unrestricted` callers (auth off, or an admin user) may touch everything, including
    experiments that belong to no project; the others only their `roles`' projects.
    """

    kind: str  # "open", "api_key", "session", "basic", "anonymous"
    name: str
    roles: Mapping[int, Role] = field(default_factory=dict)
    unrestricted: bool = False
    user_id: int | None = None
    key_id: int | None = None
    # The project a key belongs to: where experiments it creates go.
    default_project: int | None = None

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def rate_limit_id(self) -> str:
        if self.key_id is not None:
            return f"key:{self.key_id}"
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return ""

    def role_in(self, project_id: int | None) -> Role | None:
        if self.unrestricted:
            return Role.OWNER
        if project_id is None:
            return None
        return self.roles.get(project_id)

    def visible_projects(self) -> frozenset[int] | None:
        """The projects whose data this caller may list; None means all of them."""
        return None if self.unrestricted else frozenset(self.roles)


OPEN_PRINCIPAL = Principal(kind="open", name="local", unrestricted=True)
ANONYMOUS = Principal(kind="anonymous", name="anonymous")
