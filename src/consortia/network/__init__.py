"""Collaborative networks (CN): linked-account rules, the network tables, the walk-in desk, linking,
refresh, walk-in loans and the purge of linked accounts."""
