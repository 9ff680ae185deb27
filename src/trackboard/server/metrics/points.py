"""`Points`: one metric key's points as numpy columns, the one type every layer passes."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Points:
    """Columns of one key's points: same length, any order unless said otherwise."""

    steps: Int64Array
    timestamps: Int64Array
    values: Float64Array

    def __len__(self) -> int:
        return len(self.steps)

    @classmethod
    def empty(cls) -> "Points":
        return cls(
            np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        )

    @classmethod
    def concat(cls, parts: "list[Points]") -> "Points":
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def take(self, index: npt.NDArray[np.intp] | slice) -> "Points":
        return Points(self.steps[index], self.timestamps[index], self.values[index])

    def sorted_by_step(self) -> "Points":
        """Step order, ties by timestamp; stable, and free when already in order."""
        steps = self.steps
        if len(steps) < 2 or bool(np.all(steps[1:] > steps[:-1])):
            return self
        order = np.lexsort((self.timestamps, steps))
        return self.take(order)


# A batch's points by metric key.
Series = dict[str, Points]
