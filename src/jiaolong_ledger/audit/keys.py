"""Key uniqueness over a journal of any length in bounded memory.

Each key is reduced to a 64-bit hash and filed, with its position in the stream, in one of
:data:`BUCKETS` buckets by the hash's low bits. A bucket's buffer that reaches
:data:`BUFFER_ENTRIES_MAX` is appended to a temporary file, so what stays in memory while
streaming is at most ``BUCKETS * BUFFER_ENTRIES_MAX`` pairs (4 MiB), however long the journal.
At the end each bucket is checked on its own (1/64 of the hashes at a time). Equal hashes are
only candidates: the caller resolves their positions back to real keys, so a hash collision
can never be reported as a duplicate. :meth:`KeyRegistry.report_duplicates` turns what it finds
into ``DUPLICATE_KEY`` findings.
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Final

from jiaolong_ledger.audit.report import DUPLICATE_KEY, VerifyReport

BUCKETS: Final = 64
BUFFER_ENTRIES_MAX: Final = 4_096
_BUCKET_MASK: Final = BUCKETS - 1

KeyResolver = Callable[[set[int]], dict[int, tuple[int | None, str]]]
"""Maps stream positions to ``(seq, key)`` as found at those positions."""


class KeyRegistry:
    """Collects ``(hash(key), position)`` pairs; finds keys seen more than once."""

    def __init__(self) -> None:
        self._hashes = [array("q") for _ in range(BUCKETS)]
        self._positions = [array("q") for _ in range(BUCKETS)]
        self._spill_dir: tempfile.TemporaryDirectory[str] | None = None
        self._spilled = [False] * BUCKETS

    def add(self, key: str, position: int) -> None:
        digest = hash(key)
        bucket = digest & _BUCKET_MASK
        hashes = self._hashes[bucket]
        hashes.append(digest)
        self._positions[bucket].append(position)
        if len(hashes) >= BUFFER_ENTRIES_MAX:
            self._spill(bucket)

    def _paths(self, bucket: int) -> tuple[Path, Path]:
        if self._spill_dir is None:
            self._spill_dir = tempfile.TemporaryDirectory(prefix="jiaolong-keys-")
        root = Path(self._spill_dir.name)
        return root / f"{bucket}.hashes", root / f"{bucket}.positions"

    def _spill(self, bucket: int) -> None:
        hashes_path, positions_path = self._paths(bucket)
        with open(hashes_path, "ab") as handle:
            self._hashes[bucket].tofile(handle)
        with open(positions_path, "ab") as handle:
            self._positions[bucket].tofile(handle)
        self._hashes[bucket] = array("q")
        self._positions[bucket] = array("q")
        self._spilled[bucket] = True

    def _load(self, bucket: int) -> tuple[array[int], array[int]]:
        hashes, positions = array("q"), array("q")
        if self._spilled[bucket]:
            hashes_path, positions_path = self._paths(bucket)
            hashes.frombytes(hashes_path.read_bytes())
            positions.frombytes(positions_path.read_bytes())
        hashes.extend(self._hashes[bucket])
        positions.extend(self._positions[bucket])
        return hashes, positions

    def export_buckets(self) -> tuple[list[bytes], list[bytes]]:
        """Every bucket's hashes and positions as bytes (a worker hands them to the main)."""
        loaded = [self._load(bucket) for bucket in range(BUCKETS)]
        return [h.tobytes() for h, _ in loaded], [p.tobytes() for _, p in loaded]

    def absorb(self, hashes: list[bytes], positions: list[bytes]) -> None:
        """Add buckets exported by another registry (of a process with the same hash seed)."""
        for bucket, (hash_bytes, position_bytes) in enumerate(zip(hashes, positions, strict=True)):
            self._hashes[bucket].frombytes(hash_bytes)
            self._positions[bucket].frombytes(position_bytes)
            if len(self._hashes[bucket]) >= BUFFER_ENTRIES_MAX:
                self._spill(bucket)

    def candidate_positions(self) -> set[int]:
        """Positions whose key hash was seen more than once (a superset of the duplicates)."""
        candidates: set[int] = set()
        for bucket in range(BUCKETS):
            hashes, positions = self._load(bucket)
            first_at: dict[int, int] = {}
            for digest, position in zip(hashes, positions, strict=True):
                earlier = first_at.setdefault(digest, position)
                if earlier != position:
                    candidates.update((earlier, position))
        return candidates

    def duplicates(self, resolve: KeyResolver) -> list[tuple[str, list[int | None]]]:
        """``(key, [seq, ...])`` for every key that really occurs more than once."""
        candidates = self.candidate_positions()
        if not candidates:
            return []
        by_key: dict[str, list[tuple[int, int | None]]] = {}
        for position, (seq, key) in resolve(candidates).items():
            by_key.setdefault(key, []).append((position, seq))
        return [
            (key, [seq for _, seq in sorted(found)])
            for key, found in sorted(by_key.items(), key=lambda item: min(item[1])[0])
            if len(found) > 1
        ]

    def report_duplicates(self, report: VerifyReport, resolve: KeyResolver | None) -> None:
        """A ``DUPLICATE_KEY`` finding per key seen more than once, naming its seqs (without a
        resolver, one finding counting the entries whose key hashes collide)."""
        if resolve is None:
            candidates = self.candidate_positions()
            if candidates:
                report.add(
                    DUPLICATE_KEY,
                    None,
                    f"{len(candidates)} entries share a key hash (stream not re-readable to "
                    "name them)",
                )
            return
        for key, seqs in self.duplicates(resolve):
            later = [seq for seq in seqs[1:] if seq is not None]
            report.add(
                DUPLICATE_KEY,
                later[0] if later else None,
                f"key {key!r} appears on seq {', '.join(str(s) for s in seqs)}",
                key=key,
                seqs=seqs,
            )

    def close(self) -> None:
        if self._spill_dir is not None:
            self._spill_dir.cleanup()
            self._spill_dir = None
