"""Forms of the book study: books, readings, threads, posts, moderation, settings (CSRF on every one)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, FloatField, HiddenField, IntegerField, RadioField,
                     SelectChoice, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lti_tool.course.forms import MultiCheckboxField
from lti_tool.discussions.models import EmailMode, PostFirst

POST_FIRST_CHOICES = [SelectChoice(p.value, p.label) for p in PostFirst]


class BookForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the book a title."), Length(max=300)])
    author = StringField("Author", validators=[Optional(), Length(max=300)])
    edition = StringField("Edition", validators=[Optional(), Length(max=120)])
    cover_url = StringField("Cover image address", validators=[Optional(), Length(max=1024)],
                            description="Optional; an https:// address of an image.")
    link_url = StringField("Link to the book", validators=[Optional(), Length(max=1024)],
                           description="Optional; where to get it (publisher, library).")
    cohort_ids = MultiCheckboxField("Cohorts that read it", coerce=int)
    score_maximum = FloatField("Points in the gradebook", default=100.0,
                               validators=[InputRequired(message="Give the points (0: not graded)."),
                                           NumberRange(min=0, max=1000)],
                               description="The “book study” column in the LMS; 0 sends no score.")


class ReadingForm(FlaskForm):
    label = StringField("Chapter or pages", validators=[DataRequired(message="Say what is read."), Length(max=200)])
    starts_on = DateField("Starts on", validators=[InputRequired(message="Choose the start date.")])
    ends_on = DateField("Ends on", validators=[InputRequired(message="Choose the end date.")])
    prompt = TextAreaField("Prompt for the discussion", validators=[Optional(), Length(max=20000)],
                           description="Markdown. Each cohort's thread opens with it on the start date.")
    initial_posts_required = IntegerField("Initial posts required", default=1,
                                          validators=[InputRequired(), NumberRange(min=0, max=10)])
    replies_required = IntegerField("Replies to others required", default=2,
                                    validators=[InputRequired(), NumberRange(min=0, max=20)])
    post_first = SelectField("Post first", choices=POST_FIRST_CHOICES, default=PostFirst.after_n_posts.value)
    post_first_n = IntegerField("Posts of their own before seeing the others", default=1,
                                validators=[Optional(), NumberRange(min=1, max=20,
                                                                    message="At least 1 post of their own.")])
    anonymous_to_peers = BooleanField("Anonymous to peers (facilitators still see who wrote what)")


class ShiftForm(FlaskForm):
    days = IntegerField("Move this and every later reading by (days)",
                        validators=[InputRequired(message="Give a number of days."), NumberRange(min=-366, max=366)],
                        description="Negative numbers move them earlier.")


class ThreadForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the thread a title."), Length(max=300)])
    prompt = TextAreaField("Opening text", validators=[Optional(), Length(max=20000)], description="Markdown.")
    post_first = SelectField("Post first", choices=POST_FIRST_CHOICES, default=PostFirst.none.value)
    post_first_n = IntegerField("Posts of their own before seeing the others", default=1,
                                validators=[Optional(), NumberRange(min=1, max=20)])
    post_first_at = DateTimeLocalField("Everyone sees the others from", format="%Y-%m-%dT%H:%M",
                                       validators=[Optional()], description="In the program's time zone.")
    anonymous_to_peers = BooleanField("Anonymous to peers (facilitators still see who wrote what)")


class ThreadSettingsForm(FlaskForm):
    post_first = SelectField("Post first", choices=POST_FIRST_CHOICES)
    post_first_n = IntegerField("Posts of their own before seeing the others", default=1,
                                validators=[Optional(), NumberRange(min=1, max=20)])
    post_first_at = DateTimeLocalField("Everyone sees the others from", format="%Y-%m-%dT%H:%M",
                                       validators=[Optional()], description="In the program's time zone.")
    anonymous_to_peers = BooleanField("Anonymous to peers (facilitators still see who wrote what)")


class PostForm(FlaskForm):
    body = TextAreaField("Your post", validators=[Length(max=20000, message="A post can be at most 20,000 characters.")],
                         description="Markdown: **bold**, *italic*, > quote, - list, [link](https://…). "
                                     "Mention someone with @ and pick their name.")
    parent_id = HiddenField()


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired(message="Give a reason."), Length(max=2000)])


class MoveForm(FlaskForm):
    thread_id = SelectField("Move to the thread", coerce=int)


class CohortSettingsForm(FlaskForm):
    general_threads_by = RadioField("Who may start general threads", choices=[
        SelectChoice("facilitators", "Facilitators only"), SelectChoice("everyone", "Everyone in the cohort")])


class ProgramSettingsForm(FlaskForm):
    observers_may_read = BooleanField("Observers may read the cohorts' discussions")
    email_enabled = BooleanField("Send notification emails (each person chooses per event or a daily digest)")


class PreferenceForm(FlaskForm):
    email_mode = RadioField("Email me", choices=[SelectChoice(m.value, m.label) for m in EmailMode])


class OverrideForm(FlaskForm):
    membership_id = HiddenField()
    score = FloatField("Score", validators=[Optional()],
                       description="Leave empty to go back to the computed score.")
    comment = TextAreaField("Comment (the participant sees it)", validators=[Optional(), Length(max=1000)])
