"""Tool-neutral types shared by every layer: what an event and a ticket are, whatever the ITSM."""
