"""The per-stage CSV training log: mean loss terms per interval, learning rate, speed, validation.

One row every ``log_every`` steps (and at each validation). Columns: ``step, lr, elapsed_s,
it_per_s``, the mean of each loss term since the previous row, then ``val_<metric>`` (empty on
rows without validation). On resume, rows after the checkpoint's step (written by the interrupted
run after its last checkpoint) are dropped so the log matches the restored state.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence


class CsvLog:
    """Append-only CSV log of one stage."""

    def __init__(self, path: Path, *, keep_until: int, val_keys: Sequence[str]) -> None:
        self.path = path
        self.val_keys = [f"val_{k}" for k in val_keys]
        self.sums: dict[str, float] = {}
        self.count = 0
        self.header: list[str] | None = None
        self._pending: list[dict[str, str]] = []
        if path.is_file():
            self._truncate(keep_until)

    def _truncate(self, keep_until: int) -> None:
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        self.header = rows[0]
        kept = [r for r in rows[1:] if r and int(r[0]) <= keep_until]
        with self.path.open("w", newline="") as f:
            csv.writer(f).writerows([self.header, *kept])

    def add(self, terms: dict[str, float]) -> None:
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.count += 1

    def write(self, step: int, *, lr: float, elapsed: float, it_per_s: float, val: dict | None) -> None:
        means = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        row = {"step": step, "lr": f"{lr:.3g}", "elapsed_s": f"{elapsed:.1f}", "it_per_s": f"{it_per_s:.3f}"}
        row.update({k: f"{v:.6g}" for k, v in means.items()})
        row.update({f"val_{k}": f"{v:.4f}" for k, v in (val or {}).items()})
        self.sums, self.count = {}, 0
        if self.header is None and not means:  # a row before any step (step-0 validation)
            self._pending.append(row)
            return
        if self.header is None:
            self.header = ["step", "lr", "elapsed_s", "it_per_s", *sorted(means), *self.val_keys]
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(self.header)
        rows, self._pending = [*self._pending, row], []
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerows([[r.get(k, "") for k in self.header] for r in rows])


__all__ = ["CsvLog"]
