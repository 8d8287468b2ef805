"""Placeholder until the webhook endpoint lands: an empty blueprint keeps the app importable."""
from flask import Blueprint

blueprint = Blueprint("webhooks", __name__)
