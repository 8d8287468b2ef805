// Runs on the event queue for x_xla_bridge.ticket_event: parm1 is the event body, parm2 the attempt.
new global.XLABridgeEvents().deliver(String(event.parm1), String(event.parm2), current);
