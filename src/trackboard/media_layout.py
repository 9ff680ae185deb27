"""Where a run's media live among its artifacts: written by the client's `log_image`,
`log_histogram`, `log_table` and `log_text`, read by the server's media index.

    media/images/<key>/<step>.png   the image, and beside it <step>.json:
                                    {"key", "step", "caption", "width", "height", "file"}
    media/histograms/<key>/<step>.json   {"key", "step", "bins": [edges], "counts": [...]}
    media/tables/<key>.json         {"columns": [...], "rows": [[...], ...]}, and <key>.csv
    media/text/<key>.txt

Keys follow the metric key rule, so a key is a safe relative path (it may contain `/`).
"""

MEDIA = "media"
IMAGES = "media/images"
HISTOGRAMS = "media/histograms"
TABLES = "media/tables"
TEXTS = "media/text"
# Steps are zero-padded so that file names sort in step order in any listing.
STEP_DIGITS = 10


def step_name(step: int) -> str:
    return f"{step:0{STEP_DIGITS}d}"


def image_path(key: str, step: int, extension: str = ".png") -> str:
    return f"{IMAGES}/{key}/{step_name(step)}{extension}"


def image_sidecar_path(key: str, step: int) -> str:
    return f"{IMAGES}/{key}/{step_name(step)}.json"


def histogram_path(key: str, step: int) -> str:
    return f"{HISTOGRAMS}/{key}/{step_name(step)}.json"


def table_paths(key: str) -> tuple[str, str]:
    """The table as JSON (what the dashboard reads) and as CSV (for people and pandas)."""
    return f"{TABLES}/{key}.json", f"{TABLES}/{key}.csv"


def text_path(key: str) -> str:
    return f"{TEXTS}/{key}.txt"
