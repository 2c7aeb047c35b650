"""What the software derives from the curated data and stores beside it, in named graphs under
``{base}graph/derived/``: the learning network (``network.py``) and data quality (``quality.py``), recomputed on
every change by ``derived.refresh``."""
