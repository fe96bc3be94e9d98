"""重大预警: what needs a county director's attention for a period (API.md "Additions (v1, second wave)")."""
