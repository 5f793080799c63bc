"""Debranding: declarative patch configs (elforge, AlmaLinux autopatch, srpmproc), drift
diagnostics, the ledger of changes and the branding scanner."""

from elforge.patching.engine import apply_config
from elforge.patching.outcome import PatchOutcome

__all__ = ["PatchOutcome", "apply_config"]
