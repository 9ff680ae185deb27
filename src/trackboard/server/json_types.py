"""Integer types bounded to what the databases store (64-bit), for bodies and paths."""

from typing import Annotated

from fastapi import Path
from pydantic import Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Millis = Annotated[int, Field(ge=0, le=INT64_MAX)]
ExperimentId = Annotated[int, Field(ge=0, le=INT64_MAX)]
ExperimentIdPath = Annotated[int, Path(ge=0, le=INT64_MAX)]
