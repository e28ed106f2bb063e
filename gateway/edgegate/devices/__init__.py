"""Boards as the gateway reaches them: the byte pipe, the link, the greeted session, the direct
client and the one through a gateway, board keys, the registry of boards served, and a simulated
board as a process."""
