"""The layout the design card names exists, so newcomers find what the README promises."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_design_card_layout_exists():
    for name in ["app.py", "connectors", "mappers", "scoring", "webhooks", "config.example.toml", "tests",
                 "Dockerfile"]:
        assert (ROOT / name).exists(), f"{name} is missing from the project root"
