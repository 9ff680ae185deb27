"""The v1 API's bodies for a run's artifacts and media."""

from pydantic import BaseModel, Field


class ArtifactEntryRead(BaseModel):
    path: str = Field(description="From the run's artifact root, `/`-separated")
    is_dir: bool
    size: int | None = Field(description="Bytes; null for a folder")


class ArtifactListing(BaseModel):
    path: str = Field(description="The folder listed, from the run's artifact root")
    entries: list[ArtifactEntryRead]


class ArtifactWritten(BaseModel):
    path: str


class ImageFrame(BaseModel):
    step: int
    path: str = Field(description="The image file, from the run's artifact root")
    caption: str | None = None
    width: int | None = None
    height: int | None = None


class ImageSeries(BaseModel):
    key: str
    frames: list[ImageFrame] = Field(description="In step order")


class HistogramStep(BaseModel):
    step: int
    bins: list[float] = Field(description="Bin edges: one more than counts")
    counts: list[float]


class HistogramSeries(BaseModel):
    key: str
    steps: list[HistogramStep] = Field(description="In step order")


class TableRef(BaseModel):
    key: str
    path: str = Field(description="The table as JSON: {columns, rows}")
    csv_path: str | None = None


class TextRef(BaseModel):
    key: str
    path: str


class MediaIndex(BaseModel):
    images: list[ImageSeries]
    histograms: list[HistogramSeries]
    tables: list[TableRef]
    texts: list[TextRef]
