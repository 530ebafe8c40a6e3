"""Module services: release (date, sequence, by hand) with the reasons a participant reads, completion rules,
reflections and who reads them, the grade sent through the outbox, authoring (order, copies, uploads) and the
bad input that is refused without changing anything."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from lti_tool.course.access import access_for
from lti_tool.errors import Conflict, Forbidden, InvalidInput, NotFound
from lti_tool.grades.models import GradedComponent, ScoreDelivery
from lti_tool.lti.models import CourseRole, ResourceLink
from lti_tool.modules import completion, formats, permissions, queries, writes
from lti_tool.modules.models import (CompletionRule, GradeMode, ItemKind, ItemRelease, Module, ModuleSettings,
                                     ModuleItem, Reflection, ReflectionVisibility, ReleaseRule)
from lti_tool.modules.uploads import UploadRefused
from lti_tool.programs.models import CohortFacilitator, CohortMember, SeatStatus
from tests.modules.conftest import NOW, make_world, next_year_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def states(world, who, module, now=NOW):
    return queries.states_for(world.session, world.viewer(who), [module], now=now)[module.id]


def test_a_module_by_date_opens_on_each_cohorts_own_date_and_says_when(world):
    lit, math = world.cohorts["Literacy"], world.cohorts["Math"]
    module = world.module(cohorts=("Literacy", "Math"), release_rule=ReleaseRule.by_date,
                          dates={lit.id: (dt.date(2030, 10, 1), None), math.id: (dt.date(2031, 2, 3), None)})
    assert states(world, "Pat", module).open
    sam = states(world, "Sam", module)
    assert not sam.open and sam.reason == "Opens Monday 3 February 2031."
    assert not sam.items[0].open and sam.items[0].reason == sam.reason
    # In the program's zone: 3 Feb 00:30 in New York is still 2 Feb... until it is 3 Feb there.
    assert not states(world, "Sam", module, dt.datetime(2031, 2, 3, 4, 0, tzinfo=dt.timezone.utc)).open
    assert states(world, "Sam", module, dt.datetime(2031, 2, 3, 5, 30, tzinfo=dt.timezone.utc)).open


def test_an_item_after_the_previous_one_opens_once_that_one_is_done(world):
    module = world.module(items=(("page", "Welcome"), ("reading", "Read chapter 2"), ("reflection", "Reflect")))
    reflect = module.items[2]
    reflect.release = ItemRelease.after_previous
    module.items[1].completion_rule = CompletionRule.marked_done
    s = states(world, "Pat", module)
    assert s.items[2].reason == "Opens after you finish “Read chapter 2”."
    pat = world.viewer("Pat")
    with pytest.raises(writes.ItemLocked, match="locked, so nothing was saved. Opens after you finish “Read chapter 2”"):
        writes.submit_reflection(world.session, pat, reflect, "My thoughts", now=NOW)
    assert world.session.scalar(select(func.count(Reflection.id))) == 0
    writes.mark_done(world.session, pat, module.items[1], now=NOW)
    assert states(world, "Pat", module).items[2].open
    writes.submit_reflection(world.session, pat, reflect, "My thoughts", now=NOW)
    s = states(world, "Pat", module)
    assert [i.done for i in s.items] == [False, True, True] and s.done_count == 2


def test_a_module_after_another_opens_when_that_one_is_finished(world):
    first = world.module("Week 1", items=(("page", "Welcome"),))
    second = world.module("Week 2", release_rule=ReleaseRule.after_module, after_module_id=first.id)
    assert states(world, "Pat", second).reason == "Opens after you finish “Week 1”."
    writes.open_item(world.session, world.viewer("Pat"), first.items[0], now=NOW)   # viewed → done
    assert states(world, "Pat", second).open


def test_a_module_by_hand_opens_when_released(world):
    module = world.module(released=False)
    assert states(world, "Pat", module).reason == "Opens when your facilitator releases it."
    writes.set_released(world.session, world.viewer("Fay"), module, True)
    assert states(world, "Pat", module).open


def test_a_sequence_that_loops_is_refused_and_nothing_changes(world):
    a = world.module("A")
    b = world.module("B", release_rule=ReleaseRule.after_module, after_module_id=a.id)
    with pytest.raises(InvalidInput, match="loop"):
        writes.save_module(world.session, world.viewer("Lena"), a, title="A", cohort_ids=a.cohort_ids,
                       release_rule=ReleaseRule.after_module, after_module_id=b.id)
    with pytest.raises(InvalidInput, match="cannot wait for itself"):
        writes.save_module(world.session, world.viewer("Lena"), a, title="A", cohort_ids=a.cohort_ids,
                       release_rule=ReleaseRule.after_module, after_module_id=a.id)


def test_a_release_date_outside_the_program_year_is_refused(world):
    lit = world.cohorts["Literacy"]
    with pytest.raises(InvalidInput, match="outside the program year") as exc:
        writes.save_module(world.session, world.viewer("Lena"), title="Late", cohort_ids=[lit.id],
                       release_rule=ReleaseRule.by_date, dates={lit.id: (dt.date(2031, 9, 1), None)})
    assert exc.value.field == f"opens_on_{lit.id}"
    assert world.session.scalar(select(func.count(Module.id))) == 0


def test_a_video_from_a_provider_not_on_the_list_is_refused_for_embedding_but_fine_as_a_link(world):
    module = world.module(items=())
    lena = world.viewer("Lena")
    with pytest.raises(InvalidInput, match="Only YouTube or Vimeo videos"):
        writes.save_item(world.session, lena, module, kind=ItemKind.video, title="Talk",
                     url="https://videos.example.com/watch/1", embed=True)
    assert module.items == []
    linked = writes.save_item(world.session, lena, module, kind=ItemKind.video, title="Talk",
                          url="https://videos.example.com/watch/1", embed=False)
    assert linked.video_provider == ""
    yt = writes.save_item(world.session, lena, module, kind=ItemKind.video, title="YT",
                      url="https://www.youtube.com/watch?v=dQw4w9WgXcQ", embed=True)
    assert queries.embed_url(yt) == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
    vimeo = writes.save_item(world.session, lena, module, kind=ItemKind.video, title="V",
                         url="https://vimeo.com/76979871", embed=True)
    assert queries.embed_url(vimeo).startswith("https://player.vimeo.com/video/76979871")


def test_uploads_are_checked_by_size_extension_and_content(world, app, _uploads):
    module = world.module(items=())
    lena = world.viewer("Lena")
    refused = [("notes.html", b"<html><script>alert(1)</script></html>", "cannot be uploaded"),
               ("pic.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "cannot be uploaded"),
               ("fake.pdf", b"<script>alert(1)</script>", "not a PDF file"),
               ("page.txt", b"<!DOCTYPE html><html></html>", "looks like a web page"),
               ("big.pdf", PDF + b"0" * (app.config["MAX_UPLOAD_BYTES"]), "largest file allowed")]
    for name, data, message in refused:
        with pytest.raises(UploadRefused, match=message):
            writes.save_item(world.session, lena, module, kind=ItemKind.resource, title="File", upload=(name, data))
    assert module.items == [] and not list(_uploads.glob("*")) if _uploads.exists() else True
    item = writes.save_item(world.session, lena, module, kind=ItemKind.resource, title="Toolkit",
                        upload=("../../Tool kit.pdf", PDF))
    assert item.file_original_name == "Tool kit.pdf" and item.file_content_type == "application/pdf"
    assert item.file_stored_name.endswith(".pdf") and "Tool" not in item.file_stored_name
    assert (_uploads / item.file_stored_name).read_bytes() == PDF


def test_reflections_are_private_to_facilitators_unless_the_item_shares_them(world):
    module = world.module(items=(("reflection", "Private"), ("reflection", "Shared")))
    private, shared = module.items
    shared.reflection_visibility = ReflectionVisibility.shared_to_cohort_thread
    pat, quinn = world.viewer("Pat"), world.viewer("Quinn")
    for item in (private, shared):
        writes.submit_reflection(world.session, pat, item, f"Pat on {item.title}", now=NOW)
    assert queries.reflections_on(world.session, quinn, private) == []
    assert [r.body for r in queries.reflections_on(world.session, quinn, shared)] == ["Pat on Shared"]
    assert len(queries.reflections_on(world.session, world.viewer("Fay"), private)) == 1
    assert queries.reflections_on(world.session, world.viewer("Sam"), shared) == []   # another cohort


def test_feedback_is_refused_on_a_reflection_outside_ones_cohorts_even_past_the_loader(world):
    # Fay manages Literacy, not Math: Sam's reflection in a module for both is not hers to answer, whoever
    # hands it to the write; and a module of this program is nothing to another course's lead.
    module = world.module(cohorts=("Literacy", "Math"), items=(("reflection", "Notice"),))
    sams = writes.submit_reflection(world.session, world.viewer("Sam"), module.items[0], "Sam's", now=NOW)
    with pytest.raises(NotFound):
        writes.give_feedback(world.session, world.viewer("Fay"), sams, "Looks good", None, now=NOW)
    assert sams.feedback in ("", None)
    other = make_world(world.session, "course-b")
    stranger = access_for(world.session, other.person("Olga", CourseRole.facilitator), other.program)
    assert stranger.lead
    assert not permissions.sees(stranger, module) and not permissions.edits(stranger, module)
    with pytest.raises(Forbidden):
        writes.save_item(world.session, stranger, module, kind=ItemKind.page, title="Planted")


def test_participants_see_only_their_cohorts_modules_and_facilitators_only_theirs(world):
    lit = world.module("Literacy week", cohorts=("Literacy",))
    math = world.module("Math week", cohorts=("Math",))
    assert [m.title for m in queries.visible_modules(world.session, world.viewer("Pat"))] == ["Literacy week"]
    assert [m.title for m in queries.visible_modules(world.session, world.viewer("Sam"))] == ["Math week"]
    assert [m.title for m in queries.visible_modules(world.session, world.viewer("Fay"))] == ["Literacy week"]
    assert queries.visible_modules(world.session, world.viewer("Oscar")) == []
    with pytest.raises(NotFound):
        queries.get_module(world.session, world.viewer("Pat"), math.id)
    with pytest.raises(NotFound):
        queries.get_item(world.session, world.viewer("Fay"), math.items[0].id)
    with pytest.raises(Forbidden):
        writes.save_item(world.session, world.viewer("Fay"), math, kind=ItemKind.page, title="Sneaky")
    other = make_world(world.session, "course-b")
    stranger = other.person("Stranger", CourseRole.facilitator)
    with pytest.raises(NotFound):
        access_for(world.session, stranger, world.program)
    other_viewer = access_for(world.session, stranger, other.program)
    with pytest.raises(NotFound):
        queries.get_module(world.session, other_viewer, lit.id)


def test_a_graded_module_sends_the_share_of_required_items_done_in_the_same_transaction(world):
    module = world.module(items=(("page", "One"), ("page", "Two")), grade_mode=GradeMode.share_completed,
                          score_maximum=10)
    component = world.session.scalar(select(GradedComponent).where(GradedComponent.key == f"module:{module.id}"))
    assert component is not None and component.label == "Week 1" and component.score_maximum == 10
    writes.open_item(world.session, world.viewer("Pat"), module.items[0], now=NOW)
    [delivery] = world.session.scalars(select(ScoreDelivery)).all()
    assert delivery.score_given == 5 and delivery.activity_progress == "InProgress"
    writes.open_item(world.session, world.viewer("Pat"), module.items[1], now=NOW)
    latest = world.session.scalars(select(ScoreDelivery).order_by(ScoreDelivery.id.desc())).first()
    assert latest.score_given == 10 and latest.activity_progress == "Completed"


def test_a_module_graded_by_reflection_marks_sends_the_mark_and_ties_to_the_placed_link(world):
    module = world.module(items=(("reflection", "Reflect"),), grade_mode=GradeMode.reflection_mark,
                          score_maximum=4)
    link = ResourceLink(course_id=world.course.id, resource_link_id="rl-1", target=f"module:{module.id}")
    world.session.add(link)
    world.session.flush()
    assert completion.tie_placed_link(world.session, world.course.id, module.id)
    reflection = writes.submit_reflection(world.session, world.viewer("Pat"), module.items[0], "Thoughts", now=NOW)
    fay = world.viewer("Fay")
    with pytest.raises(InvalidInput, match="between 0 and 4"):
        writes.give_feedback(world.session, fay, queries.get_reflection(world.session, fay, reflection.id), "Good", 5)
    writes.give_feedback(world.session, fay, queries.get_reflection(world.session, fay, reflection.id), "Good", 3)
    delivery = world.session.scalars(select(ScoreDelivery).order_by(ScoreDelivery.id.desc())).first()
    assert delivery.score_given == 3
    assert delivery.component.resource_link_id == link.id
    with pytest.raises(NotFound):   # Sam's facilitator is not Fay; a participant cannot give feedback
        queries.get_reflection(world.session, world.viewer("Sam"), reflection.id)


def test_items_move_up_and_down_and_modules_duplicate_and_copy_to_another_cohort(world, _uploads):
    module = world.module(items=(("page", "A"), ("page", "B"), ("page", "C")))
    fay = world.viewer("Fay")
    assert writes.move_item(world.session, fay, module.items[2], "up")
    world.session.refresh(module)
    assert [i.title for i in module.items] == ["A", "C", "B"]
    assert not writes.move_item(world.session, fay, module.items[0], "up")
    copy = writes.duplicate_module(world.session, fay, module)
    assert copy.title == "Copy of Week 1" and [i.title for i in copy.items] == ["A", "C", "B"]
    assert copy.cohort_ids == module.cohort_ids and not copy.released
    with pytest.raises(InvalidInput, match="cohort you facilitate"):
        writes.copy_module_to_cohort(world.session, fay, module, world.cohorts["Math"].id)
    to_math = writes.copy_module_to_cohort(world.session, world.viewer("Lena"), module, world.cohorts["Math"].id)
    assert to_math.cohort_ids == [world.cohorts["Math"].id] and to_math.title == "Week 1 (Math)"


def test_a_lead_copies_the_programs_modules_into_next_years_program(world):
    first = world.module("Week 1", cohorts=("Literacy", "Math"), release_rule=ReleaseRule.by_date,
                         dates={world.cohorts["Literacy"].id: (dt.date(2030, 9, 2), dt.date(2030, 9, 9)),
                                world.cohorts["Math"].id: (dt.date(2030, 9, 3), None)})
    world.module("Week 2", release_rule=ReleaseRule.after_module, after_module_id=first.id)
    writes.update_settings(world.session, world.viewer("Lena"), 90)
    next_year, _lena_next = next_year_of(world, "Literacy", "Science")
    assert [p.id for p, _m in queries.copy_targets(world.session, world.viewer("Lena"))] == [next_year.program.id]
    result = writes.copy_program_modules(world.session, world.viewer("Lena"), next_year.program.id)
    copies = result.modules
    assert [c.title for c in copies] == ["Week 1", "Week 2"] and result.shift_days == 365
    assert all(c.program_id == next_year.program.id and not c.released for c in copies)
    assert copies[1].after_module_id == copies[0].id
    # The cohort of the same name gets the module with its dates a year on; Math has no namesake there.
    [link] = copies[0].cohort_links
    assert link.cohort_id == next_year.cohorts["Literacy"].id
    assert (link.opens_on, link.due_on) == (dt.date(2031, 9, 2), dt.date(2031, 9, 9))
    assert copies[0].release_rule is ReleaseRule.by_date and result.with_cohorts == 2
    assert queries.weekly_budget(world.session, next_year.program) == 90
    # Twice is refused and copies nothing more.
    with pytest.raises(Conflict, match="already has these modules"):
        writes.copy_program_modules(world.session, world.viewer("Lena"), next_year.program.id)
    assert world.session.scalar(select(func.count(Module.id)).where(Module.program_id == next_year.program.id)) == 2
    with pytest.raises(Forbidden):
        writes.copy_program_modules(world.session, world.viewer("Fay"), next_year.program.id)
    stranger_program = make_world(world.session, "course-c").program
    with pytest.raises(NotFound):
        writes.copy_program_modules(world.session, world.viewer("Lena"), stranger_program.id)


def test_a_lead_brings_last_years_modules_into_a_new_program_with_dates_left_to_set_when_they_fall_outside(world):
    world.module("Kick-off", cohorts=("Literacy",), release_rule=ReleaseRule.by_date,
                 dates={world.cohorts["Literacy"].id: (dt.date(2030, 8, 5), None)})
    world.module("Late summer", cohorts=("Literacy",), release_rule=ReleaseRule.by_date,
                 dates={world.cohorts["Literacy"].id: (dt.date(2031, 7, 20), None)})
    next_year, lena_next = next_year_of(world, "literacy")       # names match whatever their case
    next_year.program.ends_on = dt.date(2032, 6, 30)           # next year ends earlier
    viewer = access_for(world.session, lena_next, next_year.program)
    result = writes.import_program_modules(world.session, viewer, world.program.id, shift_days=364)
    kickoff, late = result.modules
    assert kickoff.cohort_links[0].opens_on == dt.date(2031, 8, 4)        # 52 weeks on: still a Monday
    # 18 July 2032 is past next year's end: the date is left for the lead, and the module opens by hand.
    assert late.cohort_links[0].opens_on is None and late.release_rule is ReleaseRule.by_hand
    with pytest.raises(InvalidInput, match="ten years"):
        writes.import_program_modules(world.session, viewer, world.program.id, shift_days=5000)
    fay_next = next_year.person("Fay", CourseRole.facilitator, user=world.people["Fay"].user)
    with pytest.raises(Forbidden):
        writes.import_program_modules(world.session, access_for(world.session, fay_next, next_year.program),
                                  world.program.id)
    # A lead of another program who does not lead this one cannot pull its modules.
    stranger = make_world(world.session, "course-d")
    olga = stranger.person("Olga", CourseRole.facilitator)
    stranger.program.settings = {"leads": [olga.id]}
    world.session.flush()
    with pytest.raises(NotFound):
        writes.import_program_modules(world.session, access_for(world.session, olga, stranger.program),
                                  world.program.id)


def test_my_week_counts_open_minutes_against_the_budget_and_lists_overdue(world):
    lit = world.cohorts["Literacy"]
    module = world.module(items=(("page", "One"), ("page", "Two")), release_rule=ReleaseRule.by_date,
                          dates={lit.id: (dt.date(2030, 10, 1), dt.date(2030, 10, 5))})
    writes.update_settings(world.session, world.viewer("Lena"), 20)
    pat = world.viewer("Pat")
    st = queries.states_for(world.session, pat, [module], now=NOW)
    week = queries.my_week(world.session, pat, [module], st)
    assert [s.item.title for _m, s in week.overdue] == ["One", "Two"]
    assert week.minutes == 30 and week.budget == 20 and week.over_budget
    with pytest.raises(Forbidden):
        writes.update_settings(world.session, world.viewer("Fay"), 60)


def test_the_progress_grid_shows_each_participant_and_item_for_the_facilitators_cohorts(world):
    module = world.module(cohorts=("Literacy", "Math"), items=(("page", "One"), ("page", "Two")))
    writes.open_item(world.session, world.viewer("Pat"), module.items[0], now=NOW)
    grid = queries.progress_grid(world.session, world.viewer("Fay"), module, now=NOW)
    assert [(r.membership.user.name, [s.label for s in r.state.items]) for r in grid.rows] == \
        [("Pat", ["Done", "Open"]), ("Quinn", ["Open", "Open"])]
    assert len(queries.progress_grid(world.session, world.viewer("Lena"), module, now=NOW).rows) == 3
    with pytest.raises(Forbidden):
        queries.progress_grid(world.session, world.viewer("Pat"), module)


def test_the_csv_cannot_run_formulas(world):
    module = world.module(items=(("page", "=HYPERLINK(\"http://x\")"),))
    world.people["Pat"].user.name = "@SUM(1)"
    grid = queries.progress_grid(world.session, world.viewer("Fay"), module, now=NOW)
    data = formats.progress_download(grid).get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in data and "'@SUM(1)" in data


def test_markdown_is_sanitised(world):
    module = world.module(overview="# Hi\n\n<script>alert(1)</script> [x](javascript:alert(1)) **ok**")
    assert "<script" not in module.overview_html and 'href="javascript' not in module.overview_html
    assert "<h2>Hi</h2>" in module.overview_html and "<strong>ok</strong>" in module.overview_html


def test_a_participant_named_facilitator_of_a_cohort_authors_its_modules_and_reads_its_progress_only(world):
    """Issue 11, point 1, in the services: Nia (an LMS Learner) sits in Literacy and facilitates Math, as an
    accepted proposal makes her; she manages Math's modules and no other cohort's."""
    nia = world.person("Nia")
    math, lit = world.cohorts["Math"], world.cohorts["Literacy"]
    world.session.add(CohortFacilitator(cohort_id=math.id, membership_id=nia.id))
    world.session.add(CohortMember(cohort_id=lit.id, membership_id=nia.id, status=SeatStatus.active))
    science = world.cohort("Science")
    world.session.flush()
    access = world.viewer("Nia")

    with pytest.raises(InvalidInput, match="only choose cohorts you facilitate"):
        writes.save_module(world.session, access, title="Everyone", cohort_ids=[math.id, lit.id], released=True)
    mine = writes.save_module(world.session, access, title="Math week", cohort_ids=[math.id], released=True)
    reflect = writes.save_item(world.session, access, mine, kind=ItemKind.reflection, title="Reflect", body="Why?")
    assert queries.get_module(world.session, access, mine.id) is mine
    writes.submit_reflection(world.session, world.viewer("Sam"), reflect, "Number talks.", now=NOW)
    assert [r.membership.user.name for r in queries.progress_grid(world.session, access, mine, now=NOW).rows] == \
        ["Sam"]
    [reflection] = queries.module_reflections(world.session, access, mine)
    writes.give_feedback(world.session, access, queries.get_reflection(world.session, access, reflection.id),
                         "Good start.", None, now=NOW)
    assert reflection.feedback_by_id == nia.id

    # Literacy's module: she takes it there, and neither changes it nor sees its progress or reflections.
    lit_week = world.module("Literacy week", cohorts=("Literacy",), items=(("reflection", "Lit reflect"),))
    assert [m.title for m in queries.visible_modules(world.session, access)] == ["Math week", "Literacy week"]
    with pytest.raises(Forbidden):
        writes.save_item(world.session, access, lit_week, kind=ItemKind.page, title="Sneaky")
    with pytest.raises(Forbidden):
        queries.progress_grid(world.session, access, lit_week)
    with pytest.raises(Forbidden):
        writes.set_released(world.session, access, lit_week, False)
    pat_reflection = writes.submit_reflection(world.session, world.viewer("Pat"), lit_week.items[0], "Mine.", now=NOW)
    with pytest.raises(NotFound):
        queries.get_reflection(world.session, access, pat_reflection.id)
    assert [r.membership.user.name for r in queries.reflections_on(world.session, access, lit_week.items[0])] == []
    # Science's module: not hers at all.
    theirs = writes.save_module(world.session, world.viewer("Lena"), title="Science week", cohort_ids=[science.id])
    with pytest.raises(NotFound):
        queries.get_module(world.session, access, theirs.id)


def _resource(world, name="Toolkit.pdf"):
    module = world.module(items=())
    item = writes.save_item(world.session, world.viewer("Lena"), module, kind=ItemKind.resource, title="Toolkit",
                            upload=(name, PDF))
    world.session.commit()
    return module, item


def _commit_that_fails(world):
    """A commit the database refuses (a check constraint, at the commit's own flush), then the rollback a
    view does."""
    world.session.add(ModuleSettings(program_id=world.program.id, weekly_budget_minutes=0))
    with pytest.raises(IntegrityError):
        world.session.commit()
    world.session.rollback()


def test_a_deleted_items_file_is_removed_only_once_the_deletion_is_committed(world, _uploads):
    """Issue 11, point 6: a deletion whose commit fails leaves the row and its file; a later commit of
    something else does not remove it either; the committed deletion does."""
    _module, item = _resource(world)
    path = _uploads / item.file_stored_name
    writes.delete_item(world.session, world.viewer("Lena"), item)
    assert path.exists(), "nothing is removed before the commit"
    _commit_that_fails(world)
    assert path.exists() and world.session.get(ModuleItem, item.id).file_stored_name == path.name
    world.people["Lena"].user.name = "Lena L."
    world.session.commit()                                   # another change: the dropped removal stays dropped
    assert path.exists()
    writes.delete_item(world.session, world.viewer("Lena"), world.session.get(ModuleItem, item.id))
    world.session.commit()
    assert not path.exists()


def test_a_replaced_or_removed_file_and_a_deleted_modules_files_go_only_after_the_commit(world, _uploads):
    module, item = _resource(world)
    old = _uploads / item.file_stored_name
    lena = world.viewer("Lena")
    writes.save_item(world.session, lena, module, item, kind=ItemKind.resource, title="Toolkit",
                     upload=("Toolkit v2.pdf", PDF))
    _commit_that_fails(world)
    item = world.session.get(ModuleItem, item.id)
    assert old.exists() and item.file_stored_name == old.name
    writes.save_item(world.session, lena, module, item, kind=ItemKind.resource, title="Toolkit",
                     upload=("Toolkit v2.pdf", PDF))
    world.session.commit()
    new = _uploads / item.file_stored_name
    assert not old.exists() and new.exists()
    writes.delete_module(world.session, lena, world.session.get(Module, module.id))
    _commit_that_fails(world)
    assert new.exists() and world.session.get(Module, module.id) is not None
    writes.delete_module(world.session, lena, world.session.get(Module, module.id))
    world.session.commit()
    assert not new.exists()
