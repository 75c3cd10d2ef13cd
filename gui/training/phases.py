"""Which groups train when: the run cut into phases (warm-up, alternation, frozen stages).

A curve that bends where a group starts or stops training is explained by the phase behind
it. Phases come from the very schedule rule the runtime uses (composer.runtime.schedules), so
the picture cannot disagree with what trains. No Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.runtime.schedules import Schedule, is_active


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


def schedule_of(spec: dict) -> Schedule:
    """The runtime's Schedule from a start event's (or a group's) schedule dict."""
    first, end = (spec.get("epochs") or [0, None])
    return Schedule(int(spec.get("every", 1)), int(spec.get("offset", 0)),
                    (int(first), None if end is None else int(end)), int(spec.get("repeat", 1)))


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


def warmup_end(schedule: Schedule, warmup_updates: int, steps_per_epoch: int) -> int:
    """The step after the group's last warm-up update (0 when it never warms up)."""
    if warmup_updates <= 0 or schedule.offset >= schedule.every:
        return 0
    start = schedule.epochs[0] * steps_per_epoch
    first = start + (schedule.offset - start) % schedule.every  # first step it updates
    turns = -(-warmup_updates // schedule.repeat)  # steps it needs to make that many updates
    return first + (turns - 1) * schedule.every + 1


def _updates_within(schedule: Schedule, start: int, end: int, spe: int) -> bool:
    """Whether the group updates at any step in [start, end)."""
    for step in range(start, min(end, start + schedule.every)):
        if is_active(schedule, step, step // spe):
            return True
    return False


def schedule_phases(schedules: dict[str, dict], total_steps: int, steps_per_epoch: int,
                    warmups: dict[str, int] | None = None) -> list[Phase]:
    """The run's phases from its groups' schedules (as the start event reports them).

    `warmups` gives each warming-up group's number of warm-up updates. Adjacent steps with
    the same groups training (and the same groups warming up) form one phase.
    """
    if total_steps <= 0 or steps_per_epoch <= 0:
        return []
    parsed = {g: schedule_of(s) for g, s in schedules.items()}
    ends = {g: warmup_end(parsed[g], n, steps_per_epoch) for g, n in (warmups or {}).items()
            if g in parsed}
    cuts = set(range(0, total_steps, steps_per_epoch)) | {total_steps}
    cuts |= {s for s in ends.values() if 0 < s < total_steps}
    bounds = sorted(cuts)
    phases: list[Phase] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        groups = tuple(g for g, s in parsed.items()
                       if _updates_within(s, start, end, steps_per_epoch))
        warming = tuple(g for g in groups if start < ends.get(g, 0))
        last = phases[-1] if phases else None
        if last is not None and (last.groups, last.warming) == (groups, warming):
            last.end = end
            continue
        turns = {g: t for g in groups if (t := turns_of(parsed[g]))}
        phases.append(Phase(start, end, groups, warming, turns))
    return phases



@dataclass
class Span:
    start: int
    end: int
    how: str  # "" (every step), "warm-up", or how it takes turns ("every 2nd step")


def group_spans(phases: list[Phase], group: str) -> list[Span]:
    """Where one group trains: its steps across the phases, joined where it trains the same
    way, so a bar and its caption are drawn once however the other groups change."""
    spans: list[Span] = []
    for phase in phases:
        if group not in phase.groups:
            continue
        how = "warm-up" if group in phase.warming else phase.turns.get(group, "")
        last = spans[-1] if spans else None
        if last is not None and last.end == phase.start and last.how == how:
            last.end = phase.end
        else:
            spans.append(Span(phase.start, phase.end, how))
    return spans
