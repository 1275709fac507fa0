"""`DirPerms` and `FilePerms`: permissions of a WASI preopened directory."""

from enum import Enum

__all__ = ["DirPerms", "FilePerms"]


class DirPerms(Enum):
    """What a guest may do with a preopened directory itself."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3


class FilePerms(Enum):
    """What a guest may do with files under a preopened directory."""

    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_WRITE = 3
