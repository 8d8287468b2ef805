"""Field mappings between each ITSM tool and the service, configured by admins.

Inbound, a tool record (`domain.ticket.RawTicket`) becomes the canonical `Ticket`; outbound, the
service's outputs become field writes in the tool's ids and value shapes. Field names live only
here and in the configuration (`[connections.mapping]`, documented in docs/mappings.md).

Entry points:
- `load_mapping_section(raw, tool=...)` (called by the settings loader) -> (ConnectionMapping, problems)
- `resolve_field_names(mapping, catalogue)` -> (mapping with field ids, problems)
- `check_mapping(mapping, catalogue, tool, where=...)` -> problem lines for `check-config --live`
- `map_ticket(raw, mapping)` -> Ticket
- `fields_to_read(mapping, tool, table)` -> field ids a connector should request
- `plan_field_writes(outputs, mapping, current_values)` -> {field id: value}
- `owned_fields(mapping)` -> field ids the service writes (for the loop guard)
"""
from mappers.catalogue import check_mapping, resolve_field_names
from mappers.config import default_mapping, load_mapping_section
from mappers.inbound import fields_to_read, map_ticket
from mappers.model import OUTPUTS, ConnectionMapping, OutboundField, TableMapping, owned_fields
from mappers.outbound import MappingNotResolved, plan_field_writes

__all__ = [
    "OUTPUTS", "ConnectionMapping", "MappingNotResolved", "OutboundField", "TableMapping", "check_mapping",
    "default_mapping", "fields_to_read", "load_mapping_section", "map_ticket", "owned_fields", "plan_field_writes",
    "resolve_field_names",
]
