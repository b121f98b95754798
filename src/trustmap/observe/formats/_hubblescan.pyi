"""Types of the compiled Hubble reader (``_hubblescan.c``); see ``hubble_native``."""

Buffer = bytes | bytearray | memoryview

_Strings = tuple[tuple[bytes, bytes], ...]
"""Per string column: (int32 end offsets with a leading 0, the bytes)."""
_Numbers = tuple[bytes, ...]
"""Per numeric column: its little-endian values."""
_Columns = tuple[int, int, int, int, int, int, int, _Strings, _Numbers]
"""(rows, flows, skipped, lost lines, lost events, anonymous flows, blank lines, strings, numbers)."""

class Scanner:
    """Reads blocks of Hubble JSON lines into column buffers (one thread at a time)."""

    def __init__(self, base: int = 0, limit: int = ...) -> None: ...
    def scan(self, block: Buffer, window_us: int, /) -> _Columns | int:
        """The block's flows collapsed, or the 1-based number of the first line it refuses."""
    def peers(self) -> list[tuple[int, bytes, bytes, bytes]]:
        """Peers interned since the last call: (id, endpoint JSON, names JSON, service JSON)."""
