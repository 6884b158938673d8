"""The table every pitfall result gives: rows of ``metric, condition, value``.

One long format for all four pitfalls, so a script reads any of their TSVs
the same way.
"""

TABLE_COLUMNS = ["metric", "condition", "value"]
