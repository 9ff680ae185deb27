"""Request and response bodies of projects, members and API keys."""

from typing import Literal

from pydantic import BaseModel, Field

RoleName = Literal["viewer", "editor", "owner"]


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=150)


class ProjectRead(BaseModel):
    id: int
    name: str
    created_at: int
    role: RoleName | None = None


class ProjectList(BaseModel):
    projects: list[ProjectRead]


class MemberUpdate(BaseModel):
    role: RoleName


class MemberRead(BaseModel):
    username: str
    role: RoleName


class MemberList(BaseModel):
    members: list[MemberRead]


class ApiKeyCreate(BaseModel):
    role: RoleName = "editor"
    name: str = Field(default="", max_length=150)


class ApiKeyRead(BaseModel):
    id: int
    prefix: str
    project_id: int
    role: RoleName
    name: str
    created_at: int
    last_used_at: int | None
    revoked_at: int | None


class ApiKeyCreated(ApiKeyRead):
    """The only response that ever carries the key itself."""

    key: str


class ApiKeyList(BaseModel):
    keys: list[ApiKeyRead]
