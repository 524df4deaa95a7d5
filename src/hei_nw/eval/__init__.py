"""Evaluation harness (``python -m hei_nw.eval.harness``), prompting, QA loop and reports."""
