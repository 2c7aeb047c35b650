"""Placeholder blueprint; the feature is being built."""

from flask import Blueprint

bp = Blueprint("ontology_doc", __name__)
