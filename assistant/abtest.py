"""A/B evaluation of ad variants: CTR, conversion rate, lift, two-proportion z-test, CI, sample size.

    from assistant.abtest import ab_test
    r = ab_test([{"name": "A", "impressions": 10000, "clicks": 320, "conversions": 21},
                 {"name": "B", "impressions": 10000, "clicks": 385, "conversions": 30}])
    r.comparisons[0].p_value, r.comparisons[0].lift, r.comparisons[0].more_needed_per_arm

The first variant is the control; each other variant is compared with it. With more than two variants the
significance level is Bonferroni-corrected, so "significant" stays honest when several arms are tested.
Standard library only (statistics.NormalDist), so the UI and the analytics code can import it cheaply.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist

from assistant.errors import InputError

_N = NormalDist()
METRICS = ("ctr", "cvr")


@dataclass
class ArmStats:
    name: str
    impressions: int
    clicks: int
    conversions: int | None = None

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def cvr(self) -> float | None:
        """Conversions per click (None when conversions were not given)."""
        if self.conversions is None:
            return None
        return self.conversions / self.clicks if self.clicks else 0.0

    def counts(self, metric: str) -> tuple[int, int]:
        """(successes, trials) of a metric."""
        return (self.clicks, self.impressions) if metric == "ctr" else (self.conversions or 0, self.clicks)


@dataclass
class Comparison:
    metric: str  # "ctr" or "cvr"
    control: str
    variant: str
    rate_control: float
    rate_variant: float
    lift: float | None  # relative: (variant - control) / control; None when the control rate is 0
    diff: float  # absolute difference of rates
    ci_low: float  # confidence interval of the absolute difference
    ci_high: float
    z: float
    p_value: float  # two-sided, pooled two-proportion z-test
    significant: bool
    needed_per_arm: int | None  # trials per arm to detect the observed difference; None = no difference seen
    more_needed_per_arm: int | None  # how many more trials per arm that is
    few_events: bool = False  # under MIN_COUNT events (or non-events) in an arm: p_value is Fisher's exact test's


@dataclass
class ABResult:
    arms: list[ArmStats]
    comparisons: list[Comparison]
    alpha: float
    power: float
    confidence: float
    winner: str | None  # best arm on CTR when its lead over the control is significant, else None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "arms": [{**asdict(a), "ctr": a.ctr, "cvr": a.cvr} for a in self.arms],
            "comparisons": [asdict(c) for c in self.comparisons],
            "alpha": self.alpha, "power": self.power, "confidence": self.confidence,
            "winner": self.winner, "notes": list(self.notes),
        }

    def as_text(self) -> str:
        lines = ["variant       impressions   clicks      CTR   conversions      CVR"]
        for a in self.arms:
            cvr = f"{a.cvr:8.2%}" if a.cvr is not None else "       -"
            conv = f"{a.conversions:>11}" if a.conversions is not None else "          -"
            lines.append(f"{a.name[:12]:<12} {a.impressions:>12} {a.clicks:>8} {a.ctr:8.2%}   {conv} {cvr}")
        for c in self.comparisons:
            lift = f"{c.lift:+.1%}" if c.lift is not None else "n/a"
            # A significant result needs no more data: "(significant); 2635 more per arm" read as a contradiction.
            need = ("no difference observed" if c.needed_per_arm is None else
                    "enough data" if c.significant or not c.more_needed_per_arm else
                    f"{c.more_needed_per_arm} more {'impressions' if c.metric == 'ctr' else 'clicks'} per arm "
                    f"(of {c.needed_per_arm})")
            lines.append(
                f"{c.metric.upper()} {c.variant} vs {c.control}: lift {lift}, diff {c.diff:+.3%} "
                f"[{c.ci_low:+.3%}, {c.ci_high:+.3%}] at {self.confidence:.0%}, p = {c.p_value:.4g}"
                f"{' (significant)' if c.significant else ''}; {need}"
            )
        lines.append(f"winner: {self.winner}" if self.winner else "winner: none yet")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def two_proportion_test(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """(z, two-sided p, CI low, CI high) for p2 - p1: pooled z for the test, unpooled (Wald) for the CI."""
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se_pooled == 0:
        z, p = 0.0, 1.0
    else:
        z = (p2 - p1) / se_pooled
        p = 2 * (1 - _N.cdf(abs(z)))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    half = _N.inv_cdf(1 - alpha / 2) * se
    return z, min(1.0, p), (p2 - p1) - half, (p2 - p1) + half


# The z-test's normal approximation needs enough events on both sides in each arm (the textbook "large
# counts" rule: at least 10 successes and 10 failures); below it the p-value can be far too small.
MIN_COUNT = 10


def small_counts(x1: int, n1: int, x2: int, n2: int) -> bool:
    return min(x1, n1 - x1, x2, n2 - x2) < MIN_COUNT


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p of Fisher's exact test of x1/n1 vs x2/n2: the probability, with the margins fixed, of a
    table no more likely than the observed one (exact at any sample size)."""
    k, n = x1 + x2, n1 + n2
    if k > n - k:  # symmetric in successes/failures: sum over the shorter range
        x1, x2, k = n1 - x1, n2 - x2, n - k
    lo, hi = max(0, k - n2), min(k, n1)

    def logp(a: int) -> float:  # hypergeometric log-probability of a successes in arm 1
        return (math.lgamma(n1 + 1) - math.lgamma(a + 1) - math.lgamma(n1 - a + 1) + math.lgamma(n2 + 1)
                - math.lgamma(k - a + 1) - math.lgamma(n2 - k + a + 1) - math.lgamma(n + 1)
                + math.lgamma(k + 1) + math.lgamma(n - k + 1))

    observed = logp(x1)
    p = sum(math.exp(lp) for lp in map(logp, range(lo, hi + 1)) if lp <= observed + 1e-7)
    return min(1.0, p)


def sample_size_per_arm(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Trials per arm for a two-sided test to detect p1 vs p2 with this power; None when p1 == p2."""
    if p1 == p2:
        return None
    za, zb = _N.inv_cdf(1 - alpha / 2), _N.inv_cdf(power)
    pbar = (p1 + p2) / 2
    num = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    return math.ceil(num / (p1 - p2) ** 2)


def _as_arm(v, i: int) -> ArmStats:
    if isinstance(v, ArmStats):
        arm = v
    elif isinstance(v, dict):
        name = v.get("name", v.get("variant", f"variant {i + 1}"))
        conv = v.get("conversions")
        arm = ArmStats(str(name), _int(v.get("impressions"), "impressions", name), _int(v.get("clicks"), "clicks", name),
                       None if conv in (None, "") else _int(conv, "conversions", name))
    elif isinstance(v, list | tuple) and len(v) in (3, 4):
        arm = _as_arm(dict(zip(("name", "impressions", "clicks", "conversions"), v, strict=False)), i)
    else:
        raise InputError(f"variant {i + 1} must be a mapping with name, impressions, clicks[, conversions]")
    if arm.impressions <= 0:
        raise InputError(f"{arm.name}: impressions must be > 0, got {arm.impressions}")
    if not 0 <= arm.clicks <= arm.impressions:
        raise InputError(f"{arm.name}: clicks must be between 0 and impressions ({arm.impressions}), got {arm.clicks}")
    if arm.conversions is not None and not 0 <= arm.conversions <= arm.clicks:
        raise InputError(f"{arm.name}: conversions must be between 0 and clicks ({arm.clicks}), got {arm.conversions}")
    return arm


def _int(value, what: str, name) -> int:
    try:
        f = float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        raise InputError(f"{name}: {what} must be a whole number, got {value!r}") from None
    if not math.isfinite(f) or f != int(f):  # nan/inf parse as floats but are no count
        raise InputError(f"{name}: {what} must be a whole number, got {value!r}")
    return int(f)


def ab_test(variants, alpha: float = 0.05, power: float = 0.8) -> ABResult:
    """Compare every variant with the first (the control) on CTR, and on CVR where conversions are given."""
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must be in (0, 0.5), got {alpha}")
    if not 0.5 <= power < 1:
        raise InputError(f"power must be in [0.5, 1), got {power}")
    arms = [_as_arm(v, i) for i, v in enumerate(variants or [])]
    if len(arms) < 2:
        raise InputError(f"an A/B test needs at least two variants, got {len(arms)}")
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"variant names must be unique: {', '.join(twice)} appear(s) more than once "
                         "(sum their rows first)")
    notes = []
    k = len(arms) - 1
    a_used = alpha / k  # Bonferroni: k comparisons against the control
    if k > 1:
        notes.append(f"{k} comparisons: significance at alpha/{k} = {a_used:.4g} (Bonferroni)")
    metrics = ["ctr"] + (["cvr"] if all(a.conversions is not None for a in arms) else [])
    missing = [a.name for a in arms if a.conversions is None]
    if missing and len(missing) < len(arms):
        notes.append(f"cvr: no conversions given for {', '.join(missing)}; conversion rate not compared")
    control = arms[0]
    comps = []
    for metric in metrics:
        x1, n1 = control.counts(metric)
        if n1 == 0:
            notes.append(f"{metric}: the control has no {'clicks' if metric == 'cvr' else 'impressions'}; skipped")
            continue
        for arm in arms[1:]:
            x2, n2 = arm.counts(metric)
            if n2 == 0:
                notes.append(f"{metric}: {arm.name} has no clicks; skipped")
                continue
            z, p, lo, hi = two_proportion_test(x1, n1, x2, n2, a_used)
            r1, r2 = x1 / n1, x2 / n2
            few = small_counts(x1, n1, x2, n2)
            if few:
                p = fisher_exact_p(x1, n1, x2, n2)
                notes.append(f"{metric}: {arm.name} vs {control.name} has under {MIN_COUNT} "
                             f"{'clicks' if metric == 'ctr' else 'conversions'} (or non-events) in an arm: "
                             "p from Fisher's exact test; too little data to call a winner")
            need = sample_size_per_arm(r1, r2, a_used, power)
            comps.append(Comparison(
                metric, control.name, arm.name, r1, r2, (r2 - r1) / r1 if r1 else None, r2 - r1, lo, hi, z, p,
                p < a_used, need, None if need is None else max(0, need - min(n1, n2)), few,
            ))
    ctr_wins = [c for c in comps if c.metric == "ctr" and c.significant and c.diff > 0]
    ctr_comps = [c for c in comps if c.metric == "ctr"]
    if any(c.few_events for c in ctr_comps):
        winner = None  # a lead on a handful of clicks is too fragile to shift budget on, even when "significant"
    elif ctr_wins:
        winner = max(ctr_wins, key=lambda c: c.rate_variant).variant
    elif ctr_comps and all(c.significant and c.diff < 0 for c in ctr_comps):
        winner = control.name
    else:
        winner = None
    return ABResult(arms, comps, alpha, power, 1 - a_used, winner, notes)


def read_ab_csv(path: str | Path) -> list[dict]:
    """Rows of variant (or name), impressions, clicks[, conversions] from a CSV (UTF-8, or GB18030 as Chinese
    Excel saves it) or an .xlsx's first sheet."""
    from assistant.tables import read_table

    p = Path(path)
    if p.is_dir():
        raise InputError(f"A/B data {p} is a folder, not a file: pass a .csv or .xlsx file")
    fields, records = read_table(p)
    rows = [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k} for r in records]
    header = [h.strip().lower() for h in fields]
    if not ({"variant", "name"} & set(header)) or not {"impressions", "clicks"} <= set(header):
        raise InputError(f"{p} needs columns variant, impressions, clicks[, conversions]; got {', '.join(header) or 'none'}")
    return [r for r in rows if any(r.values())]
