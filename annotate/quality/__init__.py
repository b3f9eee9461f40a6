"""Measures of label quality, computed over the columns of annotate.labels. Pure numpy: no Django imports."""
