"""LTI 1.3 on pylti1p3: the only package that imports pylti1p3."""
