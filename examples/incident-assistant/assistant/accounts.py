"""Per-tenant settings: where a tenant's Loki is and which labels it indexes.

Known weakness (the backtest's "northwind" cohort): query windows are computed in UTC and the
tenant's log timezone is not applied, so a tenant that writes local timestamps gets empty windows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Account:
    tenant: str
    loki_url: str
    labels: list[str] = field(default_factory=lambda: ["service_name", "namespace", "pod", "level"])
    log_timezone: str = "UTC"  # recorded, but not yet used by window()

    def window(self, fired_at: datetime, minutes: int = 60) -> tuple[datetime, datetime]:
        """The query range around an alert, in UTC."""
        end = fired_at.astimezone(UTC)
        return end - timedelta(minutes=minutes), end

    @property
    def labels_text(self) -> str:
        """What the logql prompt's `{{labels}}` placeholder is filled with."""
        return ", ".join(self.labels)
