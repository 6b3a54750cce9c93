"""Researcher HTML views, one module per page or action."""
