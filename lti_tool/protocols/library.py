"""The built-in protocol scripts (after the School Reform Initiative / NSRF protocols), as data: a program
starts a run from one of them as it is, or a lead copies one into the program and adapts it (``writes``).

Each phase says who may contribute in it (``roles``) and what it collects (``kind``: questions, notes,
feedback, the presenter's reflection, the debrief; "" for a phase that collects nothing, such as silent
reading). A role that is not listed is silent in that phase: in Consultancy's discussion the presenter
listens and takes notes on paper, and the server refuses what they post (``writes.contribute``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(str, enum.Enum):
    presenter = "presenter"
    facilitator = "facilitator"
    participant = "participant"
    timekeeper = "timekeeper"
    recorder = "recorder"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Kind(str, enum.Enum):
    question = "question"
    note = "note"
    feedback = "feedback"
    reflection = "reflection"
    debrief = "debrief"

    @property
    def label(self) -> str:
        return {"question": "Question", "note": "Note", "feedback": "Feedback", "reflection": "Reflection",
                "debrief": "Debrief"}[self.value]


EVERYONE = tuple(Role)
GROUP = (Role.participant, Role.facilitator, Role.timekeeper, Role.recorder)   # all but the presenter


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    minutes: int
    instructions: str
    roles: tuple[Role, ...]
    kind: str = ""              # a Kind value, or "" (the phase collects nothing)


@dataclass(frozen=True)
class ScriptSpec:
    key: str
    name: str
    description: str
    phases: tuple[PhaseSpec, ...]

    @property
    def total_minutes(self) -> int:
        return sum(p.minutes for p in self.phases)


def _p(name, minutes, instructions, roles, kind=""):
    return PhaseSpec(name, minutes, instructions, tuple(roles), kind.value if isinstance(kind, Kind) else kind)


BUILT_IN: tuple[ScriptSpec, ...] = (
    ScriptSpec("consultancy", "Consultancy", "A presenter brings a dilemma of practice; the group helps them think "
               "about it more expansively, without solving it for them.", (
        _p("Presenting the dilemma", 10, "The presenter gives an overview of the dilemma and frames a question "
           "for the group. The recorder notes the key points.", (Role.presenter, Role.recorder), Kind.note),
        _p("Clarifying questions", 5, "Participants ask brief, factual questions that the presenter can answer "
           "quickly.", (Role.participant, Role.facilitator, Role.timekeeper, Role.recorder), Kind.question),
        _p("Probing questions", 10, "Participants ask questions that help the presenter think more deeply; the "
           "presenter responds, or not.", (Role.participant, Role.facilitator, Role.timekeeper, Role.recorder),
           Kind.question),
        _p("Discussion", 15, "The group talks about the dilemma among themselves. The presenter is silent, "
           "listens and takes notes.", GROUP, Kind.feedback),
        _p("Presenter reflects", 5, "The presenter says what struck them and what next steps they are now "
           "thinking about. The group listens.", (Role.presenter,), Kind.reflection),
        _p("Debrief", 5, "Everyone reflects on the protocol itself: what worked, what to change next time.",
           EVERYONE, Kind.debrief),
    )),
    ScriptSpec("tuning", "Tuning", "A presenter shares a piece of work and a focusing question; the group gives "
               "warm and cool feedback to tune it.", (
        _p("Introduction", 5, "The facilitator introduces the goals, the norms and the schedule.",
           (Role.facilitator,), Kind.note),
        _p("Presentation", 15, "The presenter shares the work, its context and the focusing question. The group "
           "is silent.", (Role.presenter,), Kind.note),
        _p("Clarifying questions", 5, "Brief, factual questions only.", GROUP, Kind.question),
        _p("Examining the work", 10, "Everyone reads or looks at the work and writes their feedback privately.",
           GROUP, ""),
        _p("Warm and cool feedback", 15, "Participants share warm and cool feedback on the focusing question. The "
           "presenter is silent and takes notes.", GROUP, Kind.feedback),
        _p("Presenter reflects", 10, "The presenter responds to what they heard. The group is silent.",
           (Role.presenter,), Kind.reflection),
        _p("Debrief", 5, "How did the protocol go?", EVERYONE, Kind.debrief),
    )),
    ScriptSpec("final-word", "Final Word", "A text-based discussion: each person shares a passage and has the "
               "final word on it after the others respond.", (
        _p("Reading", 10, "Everyone reads the text and marks a passage that matters to them.", EVERYONE, ""),
        _p("Sharing a passage", 10, "In turn, each person reads their passage and says why it matters to them "
           "(up to 3 minutes each).", EVERYONE, Kind.note),
        _p("Responses", 10, "The others respond to that passage (about 1 minute each).", EVERYONE, Kind.feedback),
        _p("The final word", 5, "The first speaker has the final word: what they think now.", EVERYONE,
           Kind.reflection),
        _p("Debrief", 5, "What did the protocol let us see in the text?", EVERYONE, Kind.debrief),
    )),
    ScriptSpec("success-analysis", "Success Analysis", "Each person analyses a success of their practice, so the "
               "group understands what made it work and how to repeat it.", (
        _p("Writing a success", 10, "Each person writes about a success of their practice.", EVERYONE, Kind.note),
        _p("Sharing the success", 10, "The presenter describes their success. The others listen.",
           (Role.presenter,), Kind.note),
        _p("Analysing the success", 15, "The group asks questions and names what made it a success. The "
           "presenter listens.", GROUP, Kind.feedback),
        _p("Presenter reflects", 5, "The presenter says what they take from the analysis.", (Role.presenter,),
           Kind.reflection),
        _p("Debrief", 5, "What do our successes have in common?", EVERYONE, Kind.debrief),
    )),
    ScriptSpec("charrette", "Charrette", "A presenter brings work that is stuck; the group works the problem for "
               "them, then hands it back.", (
        _p("Presenting the work", 5, "The presenter describes the work and where it is stuck, and what they "
           "want from the group.", (Role.presenter,), Kind.note),
        _p("Clarifying questions", 5, "Brief, factual questions.", GROUP, Kind.question),
        _p("Working the problem", 20, "The group works the problem while the presenter listens and takes notes; "
           "the presenter may be invited back in by the facilitator.", GROUP, Kind.feedback),
        _p("Presenter reflects", 5, "The presenter says what they take back to the work.", (Role.presenter,),
           Kind.reflection),
        _p("Debrief", 5, "How did the charrette help?", EVERYONE, Kind.debrief),
    )),
    ScriptSpec("chalk-talk", "Chalk Talk", "A silent conversation in writing around a question: everyone writes, "
               "reads and responds without speaking.", (
        _p("Framing the question", 2, "The facilitator writes the question and explains the process.",
           (Role.facilitator,), Kind.note),
        _p("Silent writing", 20, "Everyone writes, reads the others' notes and responds in writing. Nobody "
           "speaks.", EVERYONE, Kind.note),
        _p("Looking at the board", 5, "Everyone reads the whole board and notes what they see.", EVERYONE,
           Kind.feedback),
        _p("Debrief", 3, "What did the silent conversation make possible?", EVERYONE, Kind.debrief),
    )),
)

BY_KEY = {s.key: s for s in BUILT_IN}
