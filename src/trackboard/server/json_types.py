"""Integer types bounded to what the databases store (64-bit), for bodies and paths.

Ids use the one strict parser of `identifiers`, so every door reads an id the way the
gateway authorized it.
"""

from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator, Field

from trackboard.server.identifiers import INT64_MAX, Id, id_field

INT64_MIN = -(2**63)

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Millis = Annotated[int, Field(ge=0, le=INT64_MAX)]
# Bounds repeated as schema constraints: they document the range in the OpenAPI schema.
IdField = Annotated[Id, Field(ge=0, le=INT64_MAX)]
ExperimentId = IdField
IdPath = Annotated[int, Path(ge=0, le=INT64_MAX), BeforeValidator(id_field)]
ExperimentIdPath = IdPath
