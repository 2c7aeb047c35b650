"""The pages and APIs through which partners contribute: the practice form made from the shapes (``editing.py``),
the review of submissions (``review.py``) and the spreadsheet upload (``upload.py``); ``common.py`` holds what they
share. The work itself is done in ``next2met.graph.contribute``."""
