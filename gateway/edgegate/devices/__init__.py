"""Boards as the gateway reaches them: the opened session, the registry of boards served."""
