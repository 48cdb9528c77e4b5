# Types of the compiled quote kernel (_quotekernel.pyx), for mypy.
from collections.abc import Callable

class Template:
    def __init__(self, codes: bytes, literals: tuple[bytes, ...]) -> None: ...

class Lane:
    def __init__(self, spec: dict[str, object]) -> None: ...

class MethodPlan:
    def __init__(self, method: int, rank: int, fixed: bytes | None, lanes: tuple[Lane, ...]) -> None: ...

class Plan:
    def __init__(self, region: bytes, methods: tuple[MethodPlan, ...]) -> None: ...

def configure(
    tags: dict[str, bytes], unavailable_heads: tuple[bytes, ...], reasons: int, reason_index: dict[str, int], limits: dict[str, int], separator: bytes
) -> None: ...
def wording(unit: str, value: int) -> str: ...
def quote(data: bytes, plans: dict[bytes, Plan | None], resolve: Callable[[bytes], Plan | None]) -> bytes | None: ...
def quote_batch(
    data: bytes,
    plans: dict[bytes, Plan | None],
    resolve: Callable[[bytes], Plan | None],
    fallback: Callable[[bytes], bytes],
    check_deadline: Callable[[], None],
    max_batch: int,
) -> bytes | None: ...
