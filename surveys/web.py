"""Placeholder until the survey pages land: an empty blueprint keeps the app importable."""
from flask import Blueprint

blueprint = Blueprint("surveys", __name__)
