"""The shared course layer every feature stands on.

Each piece answers one question the same way for every feature:

- ``access``: who is asking and what they may do in this course's program (the rule is written there once);
- ``pages``: the decorator that loads a program page (membership, program, access) under one commit rule;
- ``zones``: time zones, wall-clock input, and the template filters that show an instant with its zone named;
- ``text``: Markdown to sanitised HTML (one allow-list);
- ``csvfile``: CSV downloads that a spreadsheet cannot turn into formulas;
- ``forms``: a service's ``InvalidInput`` shown on the form field it names.

Background work (enqueue after the commit, open a job) is in ``lti_tool.jobs``; domain errors in
``lti_tool.errors``.
"""
