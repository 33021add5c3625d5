"""Points and their values: a Point maps variable names to numbers, lists
and grids (`Vector`, `Grid`), the values of `--at x=3,y=[1,2],t=-5:5:101`
and of --expect and --grad-output, which share the same syntax.

This module holds the value types and the syntax's plain pieces (names in
natural order, top-level splitting, `name=`); reading a value's text, which
evaluates constant expressions, is the engine's (autodiff.engine.values).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union


class Vector(Sequence):
    """A sequence of numbers kept outside a Python list: a grid's formula,
    or a tensor (results.Values). A list of 10^7 floats costs 320 MB and a
    second to build; these cost their numbers' bytes, or nothing.

    It reads like a list: len, indexing, slicing (to a list), iteration, and
    equality with any list, tuple or Vector of the same numbers.
    """

    def tolist(self) -> list:
        raise NotImplementedError

    def __iter__(self):
        return iter(self.tolist())

    def __eq__(self, other) -> bool:
        if isinstance(other, (list, tuple, Vector)):
            return len(self) == len(other) and self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if len(self) <= 10:
            return repr(self.tolist())
        return f"[{self[0]!r}, {self[1]!r}, ..., {self[-1]!r}] ({len(self)} values)"


def is_vector(value) -> bool:
    """Whether a value of a point or a result has one number per element."""
    return isinstance(value, (list, Vector))


class Grid(Vector):
    """start:stop:count, both ends included, computed on demand: the i-th
    value is start + i·step and the last is stop, the same float64 numbers
    whether read one by one here or built as a tensor (`tensor`)."""

    def __init__(self, start: float, stop: float, count: int):
        self.start, self.stop, self.count = start, stop, count

    def __len__(self) -> int:
        return self.count

    def _fraction_form(self) -> bool:
        # stop - start overflows (-1e308:1e308): start·(1 - t) + stop·t does not.
        return not math.isfinite((self.stop - self.start) / max(self.count - 1, 1))

    def _at(self, i: int) -> float:
        last = self.count - 1
        if last == 0:
            return self.start
        if i == last:
            return self.stop
        if self._fraction_form():
            return self.start * (1 - i / last) + self.stop * (i / last)
        return self.start + i * ((self.stop - self.start) / last)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(self.count))]
        if not -self.count <= index < self.count:
            raise IndexError("grid index out of range")
        return self._at(index % self.count)

    def tolist(self) -> list:
        if self.count <= 1000:
            return self[:]
        import torch  # a large grid: the same numbers (see tensor), a hundred times faster

        return self.tensor(torch.float64).tolist()

    def tensor(self, dtype):
        """The grid as a 1-D tensor of `dtype`, computed in float64 as `_at` does."""
        import torch

        last = self.count - 1
        if last == 0:
            return torch.tensor([self.start], dtype=torch.float64).to(dtype)
        values = torch.arange(self.count, dtype=torch.float64)  # i, then in place: one 8-byte number per point
        if self._fraction_form():
            fraction = values.div_(last)
            values = (1 - fraction).mul_(self.start).add_(fraction.mul_(self.stop))
        else:
            values.mul_((self.stop - self.start) / last).add_(self.start)
        values[last] = self.stop
        return values.to(dtype)


Value = Union[float, list[float], Vector]


def natural_key(name: str):
    """Sort key putting x2 before x10."""
    # A run of digits as (length, digits): numeric order without int(), which
    # refuses more than 4300 digits.
    return [(len(part.lstrip("0")), part.lstrip("0")) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def natural_order(names) -> list[str]:
    return sorted(names, key=natural_key)


@dataclass
class Point:
    """Values by variable name; vectors and grids are lists of equal length."""

    values: dict[str, Value] = field(default_factory=dict)

    @property
    def size(self) -> Optional[int]:
        """The number of elements when any value is a vector, else None."""
        sizes = {len(v) for v in self.values.values() if is_vector(v)}
        return sizes.pop() if sizes else None

    def __bool__(self) -> bool:
        return bool(self.values)


def split_top_level(text: str, separator: str = ",") -> list[tuple[int, str]]:
    """Split at separators outside brackets; each part with its 0-based offset."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append((start, text[start:index]))
            start = index + 1
    parts.append((start, text[start:]))
    return parts


def grid(start: float, stop: float, count: int) -> Grid:
    return Grid(start, stop, count)


# `name=` before a value, not `==`.
ASSIGNMENT = re.compile(r"\s*([^\W\d]\w*)\s*=(?!=)")
