"""后勤行事历: the county's logistics calendar (STANDARD-v2.md "`calendar`"), as data, versioned.

Not the *reporting* calendar (deadlines, expected months: ``district/calendar.py``): this package holds the
tasks schools must do each month, which a @2 report's ``calendar.tasks`` names as done.
"""
