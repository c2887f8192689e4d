"""The contracts: Pydantic models at every boundary, and the schema → grammar compiler.

No I/O and no imports from the rest of waypoint.
"""
