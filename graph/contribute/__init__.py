"""What partners contribute: the practice form made from the SHACL shapes (``form.py``), form values turned into
the YAML source format and SHACL results turned back into messages beside the fields (``formdata.py``),
submissions awaiting review with their states as RDF (``submissions.py``) and the spreadsheet import of the
Interreg Europe good-practice template (``spreadsheet.py``).

Nothing here writes the published data: an approved submission and an admin's import go through the one write
path (``next2met.graph.changes.apply_change``)."""
