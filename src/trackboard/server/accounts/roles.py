"""Project roles, ordered: a viewer reads, an editor also writes, an owner also manages."""

from enum import IntEnum


class Role(IntEnum):
    VIEWER = 1
    EDITOR = 2
    OWNER = 3

    @classmethod
    def parse(cls, name: str) -> "Role":
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}: use viewer, editor or owner") from None

    @property
    def label(self) -> str:
        return self.name.lower()
