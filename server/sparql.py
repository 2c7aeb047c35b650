"""Placeholder blueprint; the feature is being built."""

from flask import Blueprint

bp = Blueprint("sparql", __name__)
