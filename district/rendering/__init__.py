"""Evaluation reports (评估报告), PDF jobs and their parts, inspection sheets, ``/verify/<sha256>``; they print
through the one pipeline, ``district.printing``."""
