"""ServiceNow events sent by the project's Business Rule (Standard Webhooks signing): verify and parse."""
