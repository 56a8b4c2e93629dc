"""`SyncReport`: what one anti-entropy round with one peer did; `Tally`: its counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..ingest import IngestResult
from ..peers import PeerError, Traffic


@dataclass(kw_only=True)
class Tally:
    """Ingest results counted: accepted, duplicates, and rejections by code."""

    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def count(self, results: Sequence[IngestResult]) -> bool:
        """Count `results`; True when every record was taken (or already held)."""
        for result in results:
            if result.status == "accepted":
                self.accepted += 1
            elif result.status == "duplicate":
                self.duplicates += 1
            else:
                assert result.error is not None
                self.rejected[result.error.code] += 1
        return all(result.status != "rejected" for result in results)


@dataclass
class SyncReport(Tally):
    """What one round with one peer did."""

    peer: str
    url: str
    idle: bool = False
    error: PeerError | None = None
    traffic: Traffic = field(default_factory=Traffic)
    unfinished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "peer": self.peer,
            "url": self.url,
            "idle": self.idle,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "error": {"code": self.error.code, "detail": self.error.detail} if self.error else None,
            "round_trips": self.traffic.round_trips,
            "bytes_sent": self.traffic.bytes_sent,
            "bytes_received": self.traffic.bytes_received,
        }
