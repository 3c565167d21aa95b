"""The built-in badges (SPEC §2): code → (name, description, Bootstrap icon).

One list for the data migration that creates them and for the weekly close that awards
them (and recreates any a flushed test database lacks). No imports, so migrations can use it.
"""

BUILTIN_BADGES = {
    "first-activity": ("First activity", "Logged a first activity.", "rocket-takeoff"),
    "streak-4": ("4-week streak", "Met every expectation 4 weeks in a row.", "fire"),
    "streak-12": ("12-week streak", "Met every expectation 12 weeks in a row.", "trophy"),
    "top-of-the-week": ("Top of the week", "Most points in the organization this week.", "star"),
    "perfect-month": ("Perfect month", "Met every expectation in every week of a calendar month.", "calendar-check"),
}
STREAK_BADGES = {4: "streak-4", 12: "streak-12"}
