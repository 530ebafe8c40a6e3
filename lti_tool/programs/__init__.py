"""Programs per course, cohorts, sign-up, applications, small groups and the live-session calendar."""
