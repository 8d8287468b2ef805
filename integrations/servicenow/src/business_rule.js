(function executeRule(current, previous) {
    // After (not async): only here are previous values and changes() known. The network call
    // happens later, from the event queue, so the user's transaction never waits for it.
    new global.XLABridgeEvents().queue(current, previous);
})(current, previous);
