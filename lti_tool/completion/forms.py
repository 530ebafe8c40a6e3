"""Forms of the completion pages (Flask-WTF: CSRF on every one). The rule builder is a list of criteria rows,
each in the rule itself or in one of three groups ("any one of these" or "all of these"): two levels, which is
what programs write ("attend 6 of 8 sessions, and either finish the modules or join 3 book discussions")."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, FieldList, Form, FormField, HiddenField, SelectChoice, SelectField, \
    StringField
from wtforms.validators import Length, NumberRange, Optional

from lti_tool.completion.rules import OPS
from lti_tool.completion.sources import KINDS

GROUPS = ("A", "B", "C")
ROWS = 8
OP_CHOICES = [SelectChoice(key, f"Meet {words} these") for key, words in OPS.items()]


class CriterionRow(Form):
    cid = HiddenField()
    kind = SelectField("Criterion", choices=[])
    n = DecimalField("At least", places=None, validators=[Optional(), NumberRange(0, 10_000)])
    module = SelectField("Module", choices=[SelectChoice("", "Any module")])
    group = SelectField("In", choices=[SelectChoice("", "The rule")] + [SelectChoice(g, f"Group {g}") for g in GROUPS])


class RuleForm(FlaskForm):
    op = SelectField("The rule", choices=OP_CHOICES)
    op_A = SelectField("Group A", choices=OP_CHOICES, default="any")
    op_B = SelectField("Group B", choices=OP_CHOICES, default="any")
    op_C = SelectField("Group C", choices=OP_CHOICES, default="any")
    rows = FieldList(FormField(CriterionRow), min_entries=ROWS, max_entries=ROWS)
    note = StringField("What changed (kept with the version)", validators=[Optional(), Length(max=2000)])

    def set_choices(self, modules: dict[int, str]) -> None:
        kinds = [SelectChoice("", "— none —")] + [SelectChoice(k.key, k.label) for k in KINDS.values()]
        for row in self.rows:
            row.kind.choices = kinds
            row.module.choices = [SelectChoice("", "Any module")] + [SelectChoice(str(i), t) for i, t in modules.items()]

    def tree(self) -> dict:
        """The rows as a tree (``rules.check_tree`` checks it); blank rows are left out."""
        top: list[dict] = []
        groups: dict[str, list[dict]] = {g: [] for g in GROUPS}
        for row in self.rows:
            if not row.kind.data:
                continue
            n = row.n.data
            leaf = {"kind": row.kind.data, "n": float(n) if n is not None else None}
            kind = KINDS.get(row.kind.data)
            if kind is not None and not kind.threshold and n is not None and n == int(n):
                leaf["n"] = int(n)
            if row.module.data:
                leaf["module_id"] = int(row.module.data)
            if row.cid.data:
                leaf["id"] = row.cid.data[:12]
            (groups[row.group.data] if row.group.data in groups else top).append(leaf)
        for g in GROUPS:
            if groups[g]:
                top.append(groups[g][0] if len(groups[g]) == 1 else
                           {"op": getattr(self, f"op_{g}").data, "children": groups[g]})
        return {"op": self.op.data, "children": top}

    def fill(self, tree: dict | None) -> bool:
        """Rows from a stored tree; False when it is deeper than the builder shows (it is then shown read-only)."""
        if not tree:
            return True
        self.op.data = tree.get("op", "all")
        rows: list[tuple[dict, str]] = []
        names = iter(GROUPS)
        for child in tree.get("children", []):
            if "children" in child:
                group = next(names, None)
                if group is None or any("children" in c for c in child["children"]):
                    return False
                getattr(self, f"op_{group}").data = child["op"]
                rows += [(leaf, group) for leaf in child["children"]]
            else:
                rows.append((child, ""))
        if len(rows) > ROWS:
            return False
        for row, (leaf, group) in zip(self.rows, rows):
            row.kind.data, row.group.data, row.cid.data = leaf["kind"], group, leaf.get("id", "")
            row.n.data = leaf["n"]
            row.module.data = str(leaf["module_id"]) if leaf.get("module_id") else ""
        return True


class GradingForm(FlaskForm):
    graded = BooleanField("Send the rule's result to the LMS gradebook (a “Completion” column)")
    graded_criteria = BooleanField("Also one column per criterion of the rule")
