"""The live-session calendar: meetings of a program or a cohort, recurring series, iCal feeds."""
