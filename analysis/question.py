"""The study's question and its answer: yes / no / not yet.

A researcher states one question when creating a study, about the win rate
``w`` of system ``a`` against system ``b`` (ties half) on one criterion:

* ``non-inferiority``: "a is not worse than b by more than ``margin``":
  yes when ``H0: w <= 0.5 - margin`` is rejected;
* ``superiority``: "a is better than b": yes when ``H0: w <= 0.5`` is rejected;
* ``equivalence``: "a and b are within ``margin``": yes when both
  ``w <= 0.5 - margin`` and ``w >= 0.5 + margin`` are rejected (two one-sided tests).

Rules:

* ``alpha`` is the one-sided error of answering "yes" when the true answer is
  no (default 0.05; each one-sided test of an equivalence question uses it);
* the test statistic uses the win rate's two-way clustered standard error
  (:mod:`analysis.clustered`), never one that assumes independent votes, and
  is read on a t distribution with (annotators on the pair - 1) degrees of
  freedom, converted to the normal scale (``z = Phi^-1(T_{G-1}(t))``): a
  running study's early looks can rest on a handful of annotators, whose
  clustered variance is itself uncertain;
* looking while the study runs does not inflate that error: with a planned
  number of votes the test is group-sequential with Lan-DeMets
  O'Brien-Fleming alpha spending (:mod:`analysis.sequential`); each build
  of the report is a look, and the looks so far travel with the question
  (``looks``; the platform stores them) so boundaries already used never
  change. Without a plan it is a fixed-sample test, valid for one look only
  (the answer says so);
* "yes" is final once a boundary is crossed. "no" means the plan was reached
  without crossing, or (advisory, before the plan) the clustered 95%
  interval already excludes a yes; otherwise "not yet", with the votes
  likely still needed: the power calculator's (same test, current estimate,
  estimated design effect, ``power``), or, when more, the votes at which one
  more look would cross its sequential boundary with that power if the
  current estimate held.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from .numeric import ndtri, t_sf
from .power import votes_needed
from .sequential import spending_boundaries

__all__ = ["QUESTION_KINDS", "Question", "answer_question", "parse_question", "t_as_z"]

QUESTION_KINDS = ("non-inferiority", "superiority", "equivalence")
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: OBF spending over many looks needs up to ~3% more votes than a single look for the same power.
SEQUENTIAL_INFLATION = 1.03


@dataclass(frozen=True)
class Question:
    """A typed question about system ``a`` against ``b`` (see the module rules)."""

    kind: str
    a: str
    b: str
    margin: float = 0.05
    alpha: float = 0.05
    criterion: str | None = None
    planned_votes: int | None = None
    power: float = 0.8
    looks: tuple = field(default=())

    def as_text(self) -> str:
        points = f"{100 * self.margin:g} points of win rate"
        if self.kind == "non-inferiority":
            return f"{self.a} is not worse than {self.b} by more than {points}"
        if self.kind == "superiority":
            return f"{self.a} is better than {self.b}"
        return f"{self.a} and {self.b} are equivalent within {points}"


def parse_question(data: dict | Question) -> Question:
    """A :class:`Question` from a dict (a JSON file, the platform); refuses bad fields by name."""
    if isinstance(data, Question):
        return data
    if not isinstance(data, dict):
        raise TypeError(f"a question must be a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in QUESTION_KINDS:
        raise ValueError(f"question kind must be one of {', '.join(QUESTION_KINDS)}, got {kind!r}")
    a, b = data.get("a"), data.get("b")
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, str) or not _ID.match(value):
            raise ValueError(f"question system {name} must be a system id (1-64 of A-Za-z0-9._-), got {value!r}")
    if a == b:
        raise ValueError(f"question systems a and b must differ, both are {a!r}")
    margin = _number(data, "margin", 0.05)
    if kind != "superiority" and not 0.0 < margin < 0.5:
        raise ValueError(f"question margin must be between 0 and 0.5 (win rate), got {margin}")
    alpha = _number(data, "alpha", 0.05)
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"question alpha must be between 0 and 0.5, got {alpha}")
    power = _number(data, "power", 0.8)
    if not 0.0 < power < 1.0:
        raise ValueError(f"question power must be between 0 and 1, got {power}")
    planned = data.get("planned_votes")
    if planned is not None and (isinstance(planned, bool) or not isinstance(planned, int) or planned < 1):
        raise ValueError(f"question planned_votes must be a positive integer, got {planned!r}")
    criterion = data.get("criterion")
    if criterion is not None and (not isinstance(criterion, str) or not _ID.match(criterion)):
        raise ValueError(f"question criterion must be a criterion id, got {criterion!r}")
    looks = data.get("looks") or ()
    if not isinstance(looks, (list, tuple)) or not all(isinstance(x, dict) and isinstance(x.get("n_votes"), int)
                                                       for x in looks):
        raise ValueError("question looks must be a list of {n_votes, z_lower, z_upper} objects")
    return Question(kind=kind, a=a, b=b, margin=float(margin) if kind != "superiority" else 0.0, alpha=float(alpha),
                    criterion=criterion, planned_votes=planned, power=float(power), looks=tuple(looks))


def _number(data, name, default) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"question {name} must be a number, got {value!r}")
    return float(value)


def _find_row(rows, a, b):
    for r in rows:
        if (r["a"], r["b"]) == (a, b):
            return r, False
        if (r["a"], r["b"]) == (b, a):
            return r, True
    return None, False


def answer_question(question: Question | dict, by_criterion: dict) -> dict:
    """Answer ``question`` from the per-criterion results of :func:`analysis.report.build_summary`.

    Returns
    -------
    dict
        ``answer`` ("yes", "no", "not yet"), ``line`` (one sentence),
        ``estimate`` (win rate of a against b), ``ci95`` and its method,
        ``se``, ``design_effect``, ``n_votes``, ``planned_votes``,
        ``information_fraction``, ``sequential`` (method, looks with their z
        and boundaries), ``votes_needed_total`` and ``more_votes_needed``.
    """
    q = parse_question(question)
    criterion = q.criterion or (next(iter(by_criterion)) if by_criterion else None)
    out = {"question": q.as_text(), "kind": q.kind, "a": q.a, "b": q.b, "margin": q.margin, "alpha": q.alpha,
           "criterion": criterion, "planned_votes": q.planned_votes, "answer": "not yet", "estimate": None,
           "ci95": None, "ci95_method": None, "se": None, "design_effect": None, "n_votes": 0,
           "information_fraction": None, "votes_needed_total": None, "more_votes_needed": None,
           "looks": list(q.looks), "sequential": None}
    row, flipped, why_not = _pair_row(q, by_criterion.get(criterion) if criterion else None, criterion)
    if why_not is not None:
        out["line"] = f"Not yet: {why_not}."
        out["n_votes"] = 0 if row is None else row["n"]
        return out
    est = _PairEstimate.of(row, flipped)
    out.update(estimate=est.w, ci95=est.ci, ci95_method=row["ci95_method"], se=est.se, design_effect=est.deff,
               n_votes=est.n)
    z_lower, z_upper = _statistics(q, est)
    looks, method = _looks(q, est.n, z_lower, z_upper)
    t_now = looks[-1]["information_fraction"]
    out["information_fraction"] = t_now
    out["looks"] = looks
    out["sequential"] = {"method": method + f"; statistic on t with {est.df} degrees of freedom (annotators - 1), "
                                   "read as z", "alpha_one_sided": q.alpha, "z": _finite(z_lower),
                         "z_upper": _finite(z_upper), "boundary": looks[-1]["boundary"]}
    plan_reached = t_now is not None and t_now >= 1.0
    excluded = _interval_excludes_yes(q, est.ci)
    if _crossed(looks, "z_lower") and (q.kind != "equivalence" or _crossed(looks, "z_upper")):
        out["answer"] = "yes"
    elif plan_reached or excluded:
        out["answer"] = "no"
    else:
        out.update(_votes_still_needed(q, est, row, looks, z_lower, z_upper))
    out["line"] = _line(q, out, plan_reached, excluded)
    return out


def _pair_row(q: Question, res: dict | None, criterion) -> tuple[dict | None, bool, str | None]:
    """The win-rate row of the question's pair, whether it reads (b against a), and why there is no answer."""
    if res is None:
        return None, False, f"no votes on criterion {criterion!r}"
    missing = [s for s in (q.a, q.b) if s not in res["systems"]]
    if missing:
        return None, False, f"no votes on system {', '.join(missing)}"
    row, flipped = _find_row(res["win_rates"], q.a, q.b)
    if row is None:
        return None, False, "no votes compare them directly"
    if row["se"] is None:
        return row, flipped, "one annotator gave all their votes, so no clustered standard error exists"
    return row, flipped, None


@dataclass(frozen=True)
class _PairEstimate:
    """The win rate of a against b with its clustered 95% interval and standard error."""

    w: float
    ci: list
    se: float
    n: int
    deff: float
    df: int  # annotators on the pair - 1, at least 1

    @classmethod
    def of(cls, row: dict, flipped: bool) -> _PairEstimate:
        lo, hi = row["ci95"]
        return cls(w=1.0 - row["win_rate"] if flipped else row["win_rate"],
                   ci=[1.0 - hi, 1.0 - lo] if flipped else [lo, hi], se=float(row["se"]), n=int(row["n"]),
                   deff=float(row["design_effect"]), df=max(int(row.get("n_annotators") or 0) - 1, 1))


def _nulls(q: Question) -> tuple[float, float | None]:
    """The win rates at or beyond which the answer is no: below ``low`` (and above ``high`` for equivalence)."""
    return (0.5 - q.margin, 0.5 + q.margin) if q.kind != "superiority" else (0.5, None)


def _statistics(q: Question, est: _PairEstimate) -> tuple[float, float | None]:
    """The z statistics against the lower null and, for equivalence, the upper one."""
    low_null, high_null = _nulls(q)
    se, w = est.se, est.w
    z_lower = t_as_z((w - low_null) / se if se > 0 else math.copysign(math.inf, w - low_null), est.df)
    z_upper = None
    if q.kind == "equivalence":
        z_upper = t_as_z((high_null - w) / se if se > 0 else math.copysign(math.inf, high_null - w), est.df)
    return z_lower, z_upper


def _looks(q: Question, n: int, z_lower: float, z_upper: float | None) -> tuple[list[dict], str]:
    """The earlier looks and this one, each with its boundary and information fraction; the method in words."""
    looks = [dict(x) for x in q.looks if x["n_votes"] < n]
    looks.append({"n_votes": n, "z_lower": _finite(z_lower), "z_upper": _finite(z_upper)})
    if q.planned_votes:
        fractions = [x["n_votes"] / q.planned_votes for x in looks]
        bounds = spending_boundaries(fractions, q.alpha)
        method = (f"group-sequential, Lan-DeMets O'Brien-Fleming alpha spending over {len(looks)} look(s), "
                  f"information = votes / {q.planned_votes} planned")
    else:
        fractions = [None] * len(looks)
        bounds = np.full(len(looks), np.inf)
        bounds[-1] = ndtri(1.0 - q.alpha)
        method = "fixed-sample z-test: no planned number of votes, valid for one look only"
    for look, c, t in zip(looks, bounds, fractions):
        look["boundary"] = _finite(c)
        look["information_fraction"] = t
    return looks, method


def _crossed(looks: list[dict], key: str) -> bool:
    """Whether any look's statistic ``key`` reached its boundary."""
    return any(x[key] is not None and x["boundary"] is not None and x[key] >= x["boundary"] for x in looks)


def _interval_excludes_yes(q: Question, ci: list) -> bool:
    """Whether the 95% interval already lies where the answer is no."""
    low_null, high_null = _nulls(q)
    if q.kind == "equivalence":
        return ci[0] >= high_null or ci[1] <= low_null
    return ci[1] <= low_null


def _votes_still_needed(q: Question, est: _PairEstimate, row: dict, looks: list[dict], z_lower: float,
                        z_upper: float | None) -> dict:
    """``votes_needed_total`` and ``more_votes_needed``: the power calculator's, or when more, the next look's."""
    needed = _more_votes(q, est.w, row, est.n, est.deff)
    if q.planned_votes and needed["votes_needed_total"] is not None:
        drift = z_lower if q.kind != "equivalence" else min(z_lower, z_upper)
        crossing = _next_look_needed(looks[:-1], est.n, drift, q)
        if crossing is not None and crossing > needed["votes_needed_total"]:
            needed = {"votes_needed_total": crossing, "more_votes_needed": crossing - est.n}
    return needed


def t_as_z(t: float, df: int) -> float:
    """The normal quantile with the same tail probability as ``t`` on ``df`` degrees of freedom."""
    if not math.isfinite(t):
        return t
    tail = t_sf(abs(t), df)
    return float(math.copysign(-ndtri(tail), t)) if tail > 0 else math.copysign(math.inf, t)


def _finite(x):
    return None if x is None or not math.isfinite(x) else float(x)


def _more_votes(q: Question, w: float, row: dict, n: int, deff: float) -> dict:
    tie_rate = row["ties"] / row["n"] if row["n"] else 0.0
    planning = min(max(w, tie_rate / 2 + 1e-6, 1e-3), 1 - tie_rate / 2 - 1e-6, 1 - 1e-3)
    try:
        # power.py's superiority test is two-sided: the same one-sided error is its alpha / 2
        alpha = min(2 * q.alpha, 0.499) if q.kind == "superiority" else q.alpha
        total = votes_needed(planning, tie_rate=min(tie_rate, 0.99), alpha=alpha, power=q.power, test=q.kind,
                             margin=q.margin if q.kind != "superiority" else 0.0, design_effect=max(deff, 1.0))
    except ValueError:
        return {"votes_needed_total": None, "more_votes_needed": None}
    if q.planned_votes:
        total = math.ceil(total * SEQUENTIAL_INFLATION)
    return {"votes_needed_total": int(total), "more_votes_needed": int(max(total - n, 0))}


def _next_look_needed(previous: list, n: int, drift: float, q: Question, max_looks: int = 40) -> int | None:
    """Smallest vote count at which one more look would say yes with probability ``q.power``
    if the current estimate were the truth (its statistic grows as sqrt(votes)); None if none by
    the plan, or too many looks to compute quickly."""
    if not math.isfinite(drift) or drift <= 0 or len(previous) >= max_looks:
        return None
    fractions = [x["n_votes"] / q.planned_votes for x in previous]
    need = ndtri(q.power)

    def passes(m: int) -> bool:
        c = spending_boundaries(fractions + [m / q.planned_votes], q.alpha)[-1]
        return np.isfinite(c) and drift * math.sqrt(m / n) - c >= need

    hi = q.planned_votes
    if hi <= n or not passes(hi):
        return None
    lo = n  # passes(lo) is False, or this look would have answered already
    while hi - lo > max(1, q.planned_votes // 200):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if passes(mid) else (mid, hi)
    return int(hi)


def _line(q: Question, out: dict, plan_reached: bool, excluded: bool) -> str:
    ci = out["ci95"]
    facts = (f"win rate of {q.a} against {q.b} {out['estimate']:.3f}, 95% CI [{ci[0]:.3f}, {ci[1]:.3f}] "
             f"(clustered, design effect {out['design_effect']:.2f}), {out['n_votes']} votes")
    if out["answer"] == "yes":
        return f"Yes: {q.as_text()} ({facts})."
    if out["answer"] == "no":
        why = "the planned votes are in and the test did not show it" if plan_reached and not excluded else \
            "the 95% interval already excludes it"
        return f"No: {why} ({facts})."
    more = out["more_votes_needed"]
    if more is None:
        hint = "at the current estimate more votes are unlikely to show it"
    elif more == 0:
        hint = "the estimate is clear enough for one look, but this look's sequential boundary is stricter"
    else:
        hint = f"about {more} more vote{'s' if more != 1 else ''} on this pair {'are' if more != 1 else 'is'} likely needed"
    return f"Not yet: {hint} ({facts})."
