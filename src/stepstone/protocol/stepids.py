"""Step IDs: the SDK hashes each user-facing step id with SHA-1; repeats get a `:N` suffix first."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# The step id the engine sends when it targets no step ("discover what comes next").
UNTARGETED: str = "step"


def hash_step_id(user_id: str, index: int = 0) -> str:
    """Hash a user-facing step id; `index` is how many times the id was used before (0 = first).

    >>> hash_step_id("a")
    '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8'
    """
    raw = user_id if index == 0 else f"{user_id}:{index}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StepId:
    """One use of a step id inside a run: the user's id, its repeat index and its hash."""

    user_id: str
    index: int
    hashed: str


class StepIdCounter:
    """Counts uses of each user-facing id within one execution, to hash repeats as `id:N`."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def next(self, user_id: str) -> StepId:
        index = self._counts.get(user_id, 0)
        self._counts[user_id] = index + 1
        return StepId(user_id=user_id, index=index, hashed=hash_step_id(user_id, index))
