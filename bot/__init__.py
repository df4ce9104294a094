"""Kavi: an autonomous poet-painter that writes, paints, recolours, archives and posts."""

__version__ = "0.1.0"
