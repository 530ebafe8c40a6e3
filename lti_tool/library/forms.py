"""Forms of the library pages (Flask-WTF: CSRF on every one). The writes validate; the forms carry what was
typed so that a refused form is shown again with it."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from lti_tool.course.forms import MultiCheckboxField
from lti_tool.library.models import Licence, ResourceKind, Visibility


class ResourceForm(FlaskForm):
    cohort_id = SelectField("Cohort", coerce=int, validate_choice=False,
                            description="Who sees it first: the cohort's members and facilitators.")
    title = StringField("Title")
    kind = SelectField("Type", choices=[SelectChoice(k.value, k.label) for k in ResourceKind],
                       validate_choice=False)
    description = TextAreaField("Description", description="Markdown: **bold**, *italic*, lists, links.",
                                render_kw={"rows": 6})
    tags = StringField("Tags", description="Separated by commas, e.g. “assessment, grade 5”. At most 20.")
    url = StringField("Link", description="A web address starting with https://, or leave it empty and upload a "
                                          "file.", render_kw={"inputmode": "url"})
    upload = FileField("File", description="PDF, images, Office documents or plain text, up to 10 MB.")
    remove_file = BooleanField("Remove the file")
    licence = SelectField("Licence", choices=[SelectChoice("", "— choose a licence —")]
                          + [SelectChoice(lic.value, lic.label) for lic in Licence], validate_choice=False)
    may_share = BooleanField("I may share this: I made it, or its licence lets me share it here")


class ReturnForm(FlaskForm):
    note = TextAreaField("Note to the author", description="What to change before it can be approved.",
                         render_kw={"rows": 3})


class VisibilityForm(FlaskForm):
    visibility = SelectField("Who sees it", choices=[SelectChoice(v.value, v.label) for v in Visibility],
                             validate_choice=False)


class ProductForm(FlaskForm):
    title = StringField("Title")
    introduction = TextAreaField("Introduction", description="Markdown. What the cohort made, and for whom.",
                                 render_kw={"rows": 6})
    resource_ids = MultiCheckboxField("Resources in it", coerce=int, validate_choice=False)


class ShareForm(FlaskForm):
    shared = HiddenField()


class CarryOverForm(FlaskForm):
    program_id = SelectField("Bring from", coerce=int, validate_choice=False)
