"""The gap model's weights, factors and thresholds, as data (``config/gaps.toml``).

Defaults here equal the shipped file, so a missing table means "the documented default"; every
factor is explained in that file's comments and in ``docs/gap-model.md``. Errors name the file and
the dotted key, e.g. ``config/gaps.toml: risk.bus_factor.factor: Input should be greater than or equal to 0``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.config import describe_validation_error
from bot.gaps.interface import ContributionKind, GapError
from bot.gaps.under_invested import UnderInvestment
from bot.records import Depth, Scope

DEFAULT_WEIGHTS_PATH = Path("config/gaps.toml")


class GapWeightsError(GapError):
    """``config/gaps.toml`` is missing, not TOML, or has a wrong key or value (named in the message)."""


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepthFactors(_Table):
    direct: float = Field(default=1.0, ge=0, le=10)
    transitive: float = Field(default=0.5, ge=0, le=10)
    unknown: float = Field(default=0.75, ge=0, le=10)

    def of(self, depth: Depth) -> float:
        return float(getattr(self, depth.value))


class ScopeFactors(_Table):
    runtime: float = Field(default=1.0, ge=0, le=10)
    development: float = Field(default=0.3, ge=0, le=10)
    unknown: float = Field(default=0.75, ge=0, le=10)

    def of(self, scope: Scope) -> float:
        return float(getattr(self, scope.value))


class UsageWeights(_Table):
    default_repo_weight: float = Field(default=1.0, ge=0, le=100)
    depth: DepthFactors = DepthFactors()
    scope: ScopeFactors = ScopeFactors()


class KindWeights(_Table):
    pr_merged: float = Field(default=3.0, ge=0, le=100)
    pr_opened: float = Field(default=1.0, ge=0, le=100)
    review: float = Field(default=1.5, ge=0, le=100)
    issue: float = Field(default=0.5, ge=0, le=100)
    commit: float = Field(default=0.5, ge=0, le=100)

    def of(self, kind: ContributionKind) -> float:
        return float(getattr(self, kind.value))


class InvestmentWeights(_Table):
    code: float = Field(default=0.5, ge=0, le=1, description="share of the investment that is code")
    money: float = Field(default=0.5, ge=0, le=1, description="share of the investment that is money")
    kinds: KindWeights = KindWeights()

    @model_validator(mode="after")
    def _split_sums_to_one(self) -> InvestmentWeights:
        if abs(self.code + self.money - 1.0) > 1e-9:
            raise ValueError(f"code ({self.code}) + money ({self.money}) must add up to 1")
        return self


class SignalFactor(_Table):
    """How much one signal adds to the risk multiplier (0 turns the signal off)."""

    factor: float = Field(ge=0, le=5)


class BusFactorRisk(SignalFactor):
    factor: float = Field(default=0.5, ge=0, le=5)
    at_most: int = Field(default=1, ge=1, description="a bus factor at or below this raises the risk")


class NoMaintainersRisk(SignalFactor):
    factor: float = Field(default=0.75, ge=0, le=5)


class ArchivedRisk(SignalFactor):
    factor: float = Field(default=0.5, ge=0, le=5)


class DeprecatedRisk(SignalFactor):
    factor: float = Field(default=0.25, ge=0, le=5)


class UnfundedRisk(SignalFactor):
    factor: float = Field(default=0.25, ge=0, le=5)
    below: float = Field(default=1000.0, ge=0, description="yearly income (reporting currency) that counts as funded")


class LicenceDriftRisk(SignalFactor):
    factor: float = Field(default=0.5, ge=0, le=5)


class SingleVendorRisk(SignalFactor):
    factor: float = Field(default=0.25, ge=0, le=5)


class RelicensableRisk(SignalFactor):
    factor: float = Field(default=0.25, ge=0, le=5)


class RiskWeights(_Table):
    max_multiplier: float = Field(default=3.0, ge=1, le=20)
    bus_factor: BusFactorRisk = BusFactorRisk()
    no_active_maintainers: NoMaintainersRisk = NoMaintainersRisk()
    archived: ArchivedRisk = ArchivedRisk()
    deprecated: DeprecatedRisk = DeprecatedRisk()
    unfunded: UnfundedRisk = UnfundedRisk()
    licence_drift: LicenceDriftRisk = LicenceDriftRisk()
    single_vendor: SingleVendorRisk = SingleVendorRisk()
    relicensable: RelicensableRisk = RelicensableRisk()


class Thresholds(_Table):
    gap: float = Field(default=0.01, ge=0, le=1, description="a gap above this is open (trends, issues)")
    amount: float = Field(default=100.0, ge=0, description="and more than this still to give per year")
    movers: int = Field(default=10, ge=1, le=1000, description="how many biggest movers a trend lists")

    def under_investment(self) -> UnderInvestment:
        """The one definition of "under-invested" (:mod:`bot.gaps.under_invested`) these thresholds set."""
        return UnderInvestment(share=self.gap, amount=self.amount)


class GapWeights(_Table):
    """Everything the model multiplies by; the shipped defaults are documented in ``config/gaps.toml``."""

    usage: UsageWeights = UsageWeights()
    investment: InvestmentWeights = InvestmentWeights()
    risk: RiskWeights = RiskWeights()
    thresholds: Thresholds = Thresholds()

    def digest(self) -> str:
        """sha256 of the canonical JSON form, stored with each snapshot so runs are comparable."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_weights(text: str, origin: str = "gap weights") -> GapWeights:
    """Validate TOML text; raise :class:`GapWeightsError` naming ``origin`` and each wrong key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GapWeightsError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        return GapWeights.model_validate(data)
    except ValidationError as exc:
        raise GapWeightsError(describe_validation_error(exc, origin, GapWeights)) from exc


def load_weights(path: str | Path = DEFAULT_WEIGHTS_PATH) -> GapWeights:
    """Read ``config/gaps.toml`` (or another file) once; errors name the file and key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise GapWeightsError(f"{file}: gap weights file not found") from exc
    return parse_weights(text, str(file))
