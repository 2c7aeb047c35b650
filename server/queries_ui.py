"""Placeholder blueprint; the feature is being built."""

from flask import Blueprint

bp = Blueprint("queries_ui", __name__)
