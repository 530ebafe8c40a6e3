"""Attendance: roll, self check-in, requirements, make-ups, reports."""
