"""Configuration: a TOML file validated at start into immutable, typed settings."""
from settings.errors import ConfigError
from settings.loader import load_settings, load_settings_from_mapping
from settings.model import Settings

__all__ = ["ConfigError", "Settings", "load_settings", "load_settings_from_mapping"]
