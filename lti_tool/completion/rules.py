"""A completion rule's tree, its checks, and what it says about one person. Pure: no database here.

The tree, as stored (JSON)::

    {"op": "all", "children": [                                  # all / any of the children
        {"id": "c1", "kind": "sessions", "n": 6},                # attend at least 6 of the sessions
        {"id": "g1", "op": "any", "children": [
            {"id": "c2", "kind": "items", "n": 10, "module_id": 4},
            {"id": "c3", "kind": "readings", "n": 3}]}]}

A criterion is "at least ``n``" of its kind (see ``sources.KINDS``); every node has an ``id`` (kept from version
to version, it names the criterion's gradebook column and stored state).

**Forecast** of a criterion, over everything scheduled: *met* (done ≥ n); *can no longer meet* (even everything
still possible, make-ups included, is not enough); *at risk* (something was missed and at most one more may be,
or only make-ups can still reach it); else *on track*. A group "all" is met when every child is, can no longer
be met when one cannot, at risk when one is; a group "any" is met when one child is, can no longer be met when
none can, on track when one is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from lti_tool.completion.sources import KINDS, Kind, Tally
from lti_tool.errors import InvalidInput

MET, ON_TRACK, AT_RISK, CANNOT_MEET = "met", "on_track", "at_risk", "cannot_meet"
STATES = (CANNOT_MEET, AT_RISK, ON_TRACK, MET)          # by risk, most first
STATE_LABELS = {MET: "Met", ON_TRACK: "On track", AT_RISK: "At risk", CANNOT_MEET: "Can no longer meet"}
OPS = {"all": "all of", "any": "any one of"}
MAX_NODES = 200
MAX_DEPTH = 4
MAX_N = 10_000


def _num(value: float) -> str:
    return f"{value:g}"


# -- checks ------------------------------------------------------------------------------------------------------

def check_tree(tree: Any, *, module_ids: Iterable[int] = (), most_possible: dict[str, float] | None = None) -> dict:
    """The tree cleaned up and given ids, or ``InvalidInput`` saying what is wrong: an empty rule or group, an
    unknown kind, a count that is not a whole number above 0, a module that no longer exists, a cycle (a node
    inside itself), a rule deeper than four levels, or a criterion nobody could meet (``most_possible``: the
    most anyone could reach of a kind with what is scheduled today)."""
    modules = set(module_ids)
    seen: set[int] = set()
    used_ids: set[str] = set()
    counter = [0]

    def walk(node: Any, depth: int) -> dict:
        if id(node) in seen:
            raise InvalidInput("The rule contains itself (a group inside itself), so it could never be worked out.")
        seen.add(id(node))
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise InvalidInput(f"A rule has at most {MAX_NODES} criteria and groups.")
        if depth > MAX_DEPTH:
            raise InvalidInput(f"Groups can be nested {MAX_DEPTH} levels deep at most.")
        if not isinstance(node, dict):
            raise InvalidInput("The rule is not a list of criteria and groups.")
        if "children" in node or "op" in node:
            op = node.get("op")
            if op not in OPS:
                raise InvalidInput("A group is “all of” or “any one of” its criteria.")
            children = node.get("children")
            if not isinstance(children, list) or not children:
                raise InvalidInput("The rule is empty: add at least one criterion." if depth == 0 else
                                   "A group has no criteria: add one or remove the group.")
            out = {"op": op, "children": [walk(c, depth + 1) for c in children]}
        else:
            kind = KINDS.get(str(node.get("kind", "")))
            if kind is None:
                raise InvalidInput(f"Unknown kind of criterion: {str(node.get('kind'))[:40]!r}.")
            n = node.get("n")
            if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n) or n <= 0 \
                    or n > MAX_N or (not kind.threshold and int(n) != n):
                raise InvalidInput(f"“{kind.label}” needs a {'number' if kind.threshold else 'whole number'} "
                                   f"from 1 to {MAX_N}.")
            out = {"kind": kind.key, "n": n if kind.threshold else int(n)}
            module_id = node.get("module_id")
            if module_id not in (None, ""):
                if not kind.scoped:
                    raise InvalidInput(f"“{kind.label}” cannot be limited to one module.")
                if not isinstance(module_id, int) or module_id not in modules:
                    raise InvalidInput("A criterion counts a module that no longer exists (it was deleted): "
                                       "choose another module or remove the criterion.")
                out["module_id"] = module_id
            if most_possible is not None:
                key = f"{kind.key}:{out.get('module_id', '')}"
                most = most_possible.get(key)
                if most is not None and out["n"] > most:
                    raise InvalidInput(f"Nobody could meet “{describe(out)}”: at most {_num(most)} "
                                       f"{kind.units if most != 1 else kind.unit} can be reached with what is "
                                       f"scheduled now.")
        given = node.get("id")
        if isinstance(given, str) and given and given not in used_ids and len(given) <= 12:
            out["id"] = given
            used_ids.add(given)
        return out

    if not isinstance(tree, dict) or not ("children" in tree or "op" in tree):
        tree = {"op": "all", "children": [tree] if isinstance(tree, dict) else (tree or [])}
    clean = walk(tree, 0)
    clean.pop("id", None)
    _give_ids(clean, used_ids)
    return clean


def _give_ids(node: dict, used: set[str]) -> None:
    for child in node.get("children", []):
        if "id" not in child:
            prefix = "g" if "children" in child else "c"
            n = 1
            while f"{prefix}{n}" in used:
                n += 1
            child["id"] = f"{prefix}{n}"
            used.add(child["id"])
        _give_ids(child, used)


def criteria(tree: dict) -> list[dict]:
    """Every criterion (leaf) of the tree, in order."""
    if "children" not in tree:
        return [tree]
    return [leaf for child in tree["children"] for leaf in criteria(child)]


def describe(node: dict, module_titles: dict[int, str] | None = None) -> str:
    """A criterion or group in words: "At least 6 sessions attended", "Any one of: …"."""
    if "children" in node:
        parts = [describe(c, module_titles) for c in node["children"]]
        return f"{OPS[node['op']].capitalize()}: " + "; ".join(parts)
    kind = KINDS.get(node["kind"])
    if kind is None:
        return f"At least {_num(node['n'])} (a kind of criterion that is no longer available)"
    units = kind.unit if node["n"] == 1 else kind.units
    text = f"At least {_num(node['n'])} {units} {kind.verb}"
    if node.get("module_id") is not None:
        title = (module_titles or {}).get(node["module_id"], "a deleted module")
        text += f" in “{title}”"
    return text


# -- evaluation ----------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """Where one person stands against a node of the rule."""

    node: dict
    state: str
    sentence: str
    needs: list[str] = field(default_factory=list)
    makeup_note: str = ""
    children: list[Outcome] = field(default_factory=list)
    tally: Tally | None = None

    @property
    def id(self) -> str:
        return self.node.get("id", "")

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def fraction(self) -> float:
        """How much of it is done, 0 to 1 (the gradebook's score of a criterion)."""
        if self.tally is not None:
            return min(self.tally.done / self.node["n"], 1.0) if self.node["n"] else 1.0
        if not self.children:
            return 1.0
        values = [c.fraction for c in self.children]
        return sum(values) / len(values) if self.node["op"] == "all" else max(values)


def _leaf(node: dict, t: Tally) -> Outcome:
    kind: Kind = KINDS.get(node["kind"]) or Kind(node["kind"], "", "item", "items", "counted", "{n} more {units}")
    n = node["n"]
    done = t.done
    units = kind.units
    if kind.threshold:
        of = f"{_num(done)} {kind.unit if done == 1 else units} {kind.verb} ({_num(n)} needed)"
    else:
        of = f"{_num(min(done, n))} of {_num(n)} {units} {kind.verb}"
    needed = max(n - done, 0)
    makeups = t.makeups if kind.makeups else 0
    if done >= n:
        return Outcome(node, MET, f"{of}: met.", tally=t)
    need_units = kind.unit if needed == 1 else kind.units
    need = kind.need.format(n=_num(needed), units=need_units)
    if t.next:
        need += " (next: " + "; ".join(t.next) + ")"
    makeup_note = ""
    if makeups:
        word = "session" if makeups == 1 else "sessions"
        makeup_note = (f"A make-up counts as attended: {makeups} missed {word} can still be made up, which would "
                       f"leave {_num(max(needed - makeups, 0))} still to attend.")
    if t.left is None:
        return Outcome(node, ON_TRACK, f"{of} so far; {_num(needed)} more needed.", [need], tally=t)
    left = t.left
    if done + left < n:
        if makeups and done + left + makeups >= n:
            return Outcome(node, AT_RISK,
                           f"{of} so far; only {_num(left)} left, so this can now be met only with make-ups.",
                           [need, "Make up a missed session (ask your facilitator for the task)"],
                           makeup_note, tally=t)
        return Outcome(node, CANNOT_MEET,
                       f"{of} so far; only {_num(left)} left, so this can no longer be met.", [], makeup_note,
                       tally=t)
    slack = done + left - n
    state = AT_RISK if t.missed > 0 and slack <= 1 else ON_TRACK
    if kind.threshold:
        return Outcome(node, state, f"{of} so far; up to {_num(left)} still possible; {_num(needed)} more needed.",
                       [need], makeup_note, tally=t)
    if kind.key == "sessions":
        tail = "you cannot miss any more" if slack == 0 else f"you can miss {_num(slack)} more"
    else:
        tail = "all of them needed" if slack == 0 else f"{_num(needed)} of them needed"
    return Outcome(node, state, f"{of} so far; {_num(left)} left; {tail}.", [need], makeup_note, tally=t)


def evaluate(node: dict, tally_of) -> Outcome:
    """The outcome of ``node`` for one person; ``tally_of(leaf)`` gives the person's ``Tally`` of a criterion."""
    if "children" not in node:
        return _leaf(node, tally_of(node))
    children = [evaluate(c, tally_of) for c in node["children"]]
    states = [c.state for c in children]
    met = sum(s == MET for s in states)
    total = len(children)
    if node["op"] == "all":
        if met == total:
            state = MET
        elif CANNOT_MEET in states:
            state = CANNOT_MEET
        elif AT_RISK in states:
            state = AT_RISK
        else:
            state = ON_TRACK
        sentence = f"{met} of {total} requirements met."
        needs = [need for c in children if c.state != MET for need in c.needs]
    else:
        if met:
            state = MET
        elif all(s == CANNOT_MEET for s in states):
            state = CANNOT_MEET
        elif ON_TRACK in states:
            state = ON_TRACK
        else:
            state = AT_RISK
        sentence = "One of these is enough: " + ("met." if met else f"none met yet ({total} to choose from).")
        options = [" and ".join(c.needs) for c in children if c.state != CANNOT_MEET and c.needs]
        needs = [] if met else (["Either " + "; or ".join(options)] if len(options) > 1 else options)
    note = " ".join(dict.fromkeys(c.makeup_note for c in children if c.makeup_note and c.state != MET))
    return Outcome(node, state, sentence, needs, note, children)
