"""Group schedules in the graph: their settings, defaults, and the run cut into phases.

The rule of when a group updates lives in composer.runtime.schedules (the generated program
embeds it); everything here is built on that rule, so the file format, the checks, the groups
panel and the phase picture beside the curves cannot disagree with what trains.

A schedule in the file is `{"every", "offset", "epochs": [first, end], "repeat"}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from composer.optim import LR_SCHEDULES
from composer.params import Int, Param
from composer.runtime.schedules import Schedule, is_active, never_updates
from composer.runtime.schedules import schedule_dict as to_dict

# The settings of a schedule besides its epoch window, in file order.
SETTINGS: tuple[Param, ...] = (
    Int("every", 1, "update when step % every == offset", min=1, max=1_000_000),
    Int("offset", 0, "see every", min=0, max=1_000_000),
    Int("repeat", 1, "updates in a row, each on a fresh batch", min=1, max=1000),
)
KEYS = tuple(f.name for f in fields(Schedule))  # file order
# The two ends of `epochs`, [first, end): how the groups panel edits them.
FIRST_EPOCH = Int("first_epoch", 0, "the first epoch in which the group updates", min=0)
END_EPOCH = Int("end_epoch", None, "the epoch at which it stops; empty: it never stops",
                min=1, optional=True)


def default_dict() -> dict[str, Any]:
    """The schedule of a new group: every step, all epochs, once."""
    return to_dict(Schedule())


def from_dict(spec: dict[str, Any]) -> Schedule:
    """The runtime's Schedule from a validated schedule dict (missing keys take defaults)."""
    default = Schedule()
    first, end = spec.get("epochs") or default.epochs
    return Schedule(int(spec.get("every", default.every)), int(spec.get("offset", default.offset)),
                    (int(first), None if end is None else int(end)),
                    int(spec.get("repeat", default.repeat)))


def never_runs_message(schedule: Schedule, group: str) -> str | None:
    """Why a group with this schedule can never update, or None."""
    if not never_updates(schedule):
        return None
    every, offset = schedule.every, schedule.offset
    return (f"schedule offset is {offset} but every is {every}: step % {every} is never "
            f"{offset}, so group {group} never updates; use an offset from 0 to {every - 1}")


def warmup_updates(lr_schedule: dict[str, Any]) -> int:
    """How many updates of linear warm-up an LR schedule begins with (0 for most)."""
    declared = {p.name: p.default for p in LR_SCHEDULES.get(lr_schedule.get("type"), ())}
    return int(lr_schedule.get("warmup_steps", declared.get("warmup_steps", 0)))


def warmup_end(schedule: Schedule, warmup: int, steps_per_epoch: int) -> int:
    """The step after the group's last warm-up update (0 when it never warms up)."""
    if warmup <= 0 or never_updates(schedule):
        return 0
    start = schedule.epochs[0] * steps_per_epoch
    first = start + (schedule.offset - start) % schedule.every  # first step it updates
    turns = -(-warmup // schedule.repeat)  # steps it needs to make that many updates
    return first + (turns - 1) * schedule.every + 1


# --- phases: which groups train when ------------------------------------------------------

@dataclass
class Phase:
    start: int  # first step
    end: int  # the step after the last
    groups: tuple[str, ...]  # groups that update in it, in file order
    warming: tuple[str, ...] = ()  # groups still in their learning-rate warm-up
    turns: dict[str, str] = field(default_factory=dict)  # group -> "every 2nd step", "x3"

    @property
    def label(self) -> str:
        """A short caption: who trains, how often, who warms up."""
        if not self.groups:
            return "no group trains"
        parts = []
        for g in self.groups:
            text = f"{g} ({self.turns[g]})" if g in self.turns else g
            parts.append(f"{text}, warm-up" if g in self.warming else text)
        return " + ".join(parts)


def turns_of(schedule: Schedule) -> str | None:
    """How a group takes its turns when it does not update once every step."""
    parts = []
    if schedule.every > 1:
        parts.append(f"every {_ordinal(schedule.every)} step")
    if schedule.repeat > 1:
        parts.append(f"x{schedule.repeat}")
    return ", ".join(parts) or None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _updates_within(schedule: Schedule, start: int, end: int, spe: int) -> bool:
    """Whether the group updates at any step in [start, end)."""
    return any(is_active(schedule, step, step // spe)
               for step in range(start, min(end, start + schedule.every)))


def phases(schedules: dict[str, dict], total_steps: int, steps_per_epoch: int,
           warmups: dict[str, int] | None = None) -> list[Phase]:
    """The run's phases from its groups' schedule dicts (as a run's start event reports them).

    `warmups` gives each warming-up group's number of warm-up updates. Adjacent steps with
    the same groups training (and the same groups warming up) form one phase.
    """
    if total_steps <= 0 or steps_per_epoch <= 0:
        return []
    parsed = {g: from_dict(s) for g, s in schedules.items()}
    ends = {g: warmup_end(parsed[g], n, steps_per_epoch) for g, n in (warmups or {}).items()
            if g in parsed}
    cuts = set(range(0, total_steps, steps_per_epoch)) | {total_steps}
    cuts |= {s for s in ends.values() if 0 < s < total_steps}
    bounds = sorted(cuts)
    found: list[Phase] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        groups = tuple(g for g, s in parsed.items()
                       if _updates_within(s, start, end, steps_per_epoch))
        warming = tuple(g for g in groups if start < ends.get(g, 0))
        last = found[-1] if found else None
        if last is not None and (last.groups, last.warming) == (groups, warming):
            last.end = end
            continue
        turns = {g: t for g in groups if (t := turns_of(parsed[g]))}
        found.append(Phase(start, end, groups, warming, turns))
    return found


@dataclass
class Span:
    start: int
    end: int
    how: str  # "" (every step), "warm-up", or how it takes turns ("every 2nd step")


def group_spans(found: list[Phase], group: str) -> list[Span]:
    """Where one group trains: its steps across the phases, joined where it trains the same
    way, so a bar and its caption are drawn once however the other groups change."""
    spans: list[Span] = []
    for phase in found:
        if group not in phase.groups:
            continue
        how = "warm-up" if group in phase.warming else phase.turns.get(group, "")
        last = spans[-1] if spans else None
        if last is not None and last.end == phase.start and last.how == how:
            last.end = phase.end
        else:
            spans.append(Span(phase.start, phase.end, how))
    return spans

