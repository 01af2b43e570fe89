"""Core utilities: element types, shapes, CPU features."""
